"""The GPU bill on Alibaba's openb trace, whole or of its training pool: provisioned node-hours, packing and spot.

    python benchmarks/cluster_bill.py [--data DIR] [--prices FILE] [--packing NAME] [--seeds N] [--quick]
                                      [--without-consolidation] [--pool all|training] [--out FILE]

The default task list replays in time on an autoscaled pool of at most the trace's 1,213 GPU nodes
(``shipyard.scheduling.autoscaled``): nodes start down, one is brought up when a task fits no up
node (3 minutes of provisioning, billed), and scaled down after 10 minutes empty. Each node is billed
its full hourly price while up, at ``benchmarks/spot_prices.toml`` (spot nodes at the discount). The
cluster autoscaler picks which down node to bring up with its default expander, random, in every run,
so that the runs differ only in the scheduler's scoring and in spot; each run is repeated with
``--seeds`` seeds of that draw (and of the spot reclaims) and the figures are their mean.

``--pool`` chooses the tasks replayed: ``all`` (the default) every task of the list; ``training`` only
its non-``LS`` tasks (``BE``, ``Burstable``, ``Guaranteed``) — the training jobs the scheduler places,
serving running in its own fleet — on the same pool, with the same runs. The packing policy's task
shapes are those of the tasks replayed.

Consolidation (``shipyard.scheduling.consolidation``), on unless ``--without-consolidation``: in every
run the autoscaler also drains nodes under half used for 10 minutes whose tasks fit elsewhere
(cluster-autoscaler's default), and the packing runs add a descheduler-style compaction every 10
minutes. A moved ``LS`` serving replica restarts and loses nothing; a moved checkpointing task
(``BE``; every non-``LS`` task in the scenario) redoes the work since its last checkpoint (every 30
minutes, or ``--checkpoint-minutes``);
the other tasks (training that does not checkpoint) are not moved, and their nodes are not drained.

Side by side: kube-scheduler's default spreading (least-allocated) all on-demand — the baseline —;
the packing policy all on-demand (with consolidation: without and with compaction); packing with
the ``BE`` tasks spot-tolerant; and, labelled as a scenario, packing with every non-``LS`` task
spot-tolerant (as if the Burstable and Guaranteed training jobs checkpointed too); each spot run also
with the slack rule (``shipyard.scheduling.deadlines.SpotFallback``, "on-demand when the slack runs
out"): a tolerant task goes to spot only while its slack to its deadline exceeds what one more reclaim
could cost it, and on-demand for good after that. Each with total
cost, change against the baseline, node-hours, GPU utilization of the up nodes, deadline misses
(``shipyard.scheduling.deadlines``), waiting mean / p95, reclaims (tasks reclaimed), and with consolidation the
drained nodes, task moves (of them by compaction), serving restarts and the GPU-hours moves made
checkpointing tasks redo. ``--quick`` replays a quarter of the nodes and the first 2,000 tasks of the
pool: proves the harness.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from shipyard.errors import ShipyardError  # noqa: E402
from shipyard.governance.prices import parse_prices  # noqa: E402
from shipyard.scheduling.autoscaled import Autoscaler, Bill, simulate  # noqa: E402
from shipyard.scheduling.consolidation import Compaction, Movability, ScaleDown  # noqa: E402
from shipyard.scheduling.deadlines import Deadline, SpotFallback  # noqa: E402
from shipyard.scheduling.fragmentation import Workload  # noqa: E402
from shipyard.scheduling.policies import make_policy  # noqa: E402
from shipyard.scheduling.spot import SpotSettings  # noqa: E402
from shipyard.scheduling.trace import load_arrivals, load_nodes  # noqa: E402

BASELINE = "kube default (least-allocated), all on-demand"
SPOT = SpotSettings(share=0.35, preemption_rate=0.2, checkpoint_interval_s=1800)
"""The harsher setting of the usage-billed spot table: 0.2 reclaims per spot node-hour, 30-minute checkpoints."""
NON_LS = ("BE", "Burstable", "Guaranteed")
POOLS = {"all": None, "training": NON_LS}
"""The QoS classes each ``--pool`` replays (None: every task)."""


FALLBACK = " + on-demand when the slack runs out"
"""Suffix of the runs where a tolerant task goes on-demand, for good, once its slack is too small for spot."""


class Run(NamedTuple):
    policy: str
    tolerant_qos: tuple[str, ...] = ()
    compaction: bool = False
    fallback: bool = False


def runs(packing: str, consolidation: bool = True) -> dict[str, Run]:
    if not consolidation:
        return {BASELINE: Run("least-allocated"),
                f"packing ({packing}), all on-demand": Run(packing),
                f"packing ({packing}) + spot for BE": Run(packing, ("BE",)),
                f"packing ({packing}) + spot for BE{FALLBACK}": Run(packing, ("BE",), fallback=True),
                f"scenario: packing ({packing}) + spot for all non-LS": Run(packing, NON_LS),
                f"scenario: packing ({packing}) + spot for all non-LS{FALLBACK}": Run(packing, NON_LS, fallback=True)}
    return {BASELINE: Run("least-allocated"),
            f"packing ({packing}), all on-demand": Run(packing),
            f"packing ({packing}) + compaction, all on-demand": Run(packing, compaction=True),
            f"packing ({packing}) + compaction + spot for BE": Run(packing, ("BE",), compaction=True),
            f"packing ({packing}) + compaction + spot for BE{FALLBACK}":
                Run(packing, ("BE",), compaction=True, fallback=True),
            f"scenario: packing ({packing}) + compaction + spot for all non-LS": Run(packing, NON_LS, compaction=True),
            f"scenario: packing ({packing}) + compaction + spot for all non-LS{FALLBACK}":
                Run(packing, NON_LS, compaction=True, fallback=True)}


def replay(data: Path, prices_file: Path, packing: str, quick: bool, seeds: int, consolidation: bool = True,
           deadline: Deadline = Deadline(), pool: str = "all",
           checkpoint_interval_s: float = SPOT.checkpoint_interval_s) -> dict[str, list[Bill]]:
    """Every run of ``runs(packing, consolidation)`` on the tasks of ``pool``, once per seed; checkpointing tasks
    save their work every ``checkpoint_interval_s``."""
    spot_settings = dataclasses.replace(SPOT, checkpoint_interval_s=checkpoint_interval_s)
    nodes = load_nodes(data / "openb_node_list_gpu_node.csv")
    arrivals = load_arrivals(data / "openb_pod_list_default.csv")
    if POOLS[pool] is not None:
        arrivals = [arrival for arrival in arrivals if arrival.qos in POOLS[pool]]
    if quick:
        nodes, arrivals = nodes[::4], arrivals[:2000]
    prices = parse_prices(prices_file.read_text(), source=str(prices_file))
    workload = Workload.of([a.task for a in arrivals])
    make_policy(packing, workload=workload)
    autoscaler = Autoscaler(scale_down=ScaleDown() if consolidation else None)
    results: dict[str, list[Bill]] = {}
    for name, run in runs(packing, consolidation).items():
        started = time.perf_counter()
        movability = Movability(checkpointing_qos=run.tolerant_qos or ("BE",),
                                checkpoint_interval_s=checkpoint_interval_s)
        results[name] = [
            simulate(arrivals, nodes, prices, lambda: make_policy(run.policy, workload=workload),
                     make_expander=lambda: make_policy("random", seed=seed),
                     spot=dataclasses.replace(spot_settings, tolerant_qos=run.tolerant_qos, seed=seed)
                     if run.tolerant_qos else None,
                     autoscaler=autoscaler, compaction=Compaction() if run.compaction else None,
                     movability=movability, deadline=deadline,
                     fallback=SpotFallback(checkpoint_interval_s=checkpoint_interval_s,
                                           provisioning_s=autoscaler.provisioning_s) if run.fallback else None)
            for seed in range(seeds)]
        print(f"  {name:56} ({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)
    return results


def table(results: dict[str, list[Bill]], consolidation: bool = True) -> str:
    base = np.mean([bill.cost for bill in results[BASELINE]])
    lines = ["| run | total cost (mean) | min – max over seeds | vs baseline | node-hours | GPU utilization | "
             "spot share of cost | deadline misses | waiting mean / p95 (s) | reclaims |"
             + (" drained nodes | moves (by compaction) | serving restarts | GPU-h redone after moves |"
                if consolidation else ""),
             "|---|---|---|---|---|---|---|---|---|---|" + ("---|---|---|---|" if consolidation else "")]

    def mean(field: str) -> float:
        return float(np.mean([getattr(bill, field) for bill in bills]))

    for name, bills in results.items():
        costs = np.array([bill.cost for bill in bills])
        waiting = np.concatenate([bill.waiting_s for bill in bills])
        misses = np.mean([bill.deadline_misses + 0.0 for bill in bills])
        lines.append(
            f"| {name} | {costs.mean():,.0f} | {costs.min():,.0f} – {costs.max():,.0f} | "
            f"{costs.mean() / base - 1:+.1%} | {np.mean([bill.node_hours for bill in bills]):,.0f} | "
            f"{np.mean([bill.gpu_utilization for bill in bills]):.1%} | "
            f"{np.mean([bill.spot_cost / bill.cost for bill in bills]):.1%} | {misses:g} | "
            f"{waiting.mean():,.0f} / {np.percentile(waiting, 95):,.0f} | "
            f"{np.mean([bill.preemptions for bill in bills]):g} |"
            + (f" {mean('drained_nodes'):g} | {mean('moved_tasks'):g} ({mean('compacted_tasks'):g}) | "
               f"{mean('serving_restarts'):g} | {mean('moved_lost_gpu_hours'):.1f} |" if consolidation else ""))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data" / "openb")
    parser.add_argument("--prices", type=Path, default=HERE / "spot_prices.toml")
    parser.add_argument("--packing", default="fgd-pack", help="the packing policy compared with the baseline")
    parser.add_argument("--seeds", type=int, default=5, help="seeds of the autoscaler's random expander per run")
    parser.add_argument("--quick", action="store_true", help="a quarter of the nodes, 2,000 tasks")
    parser.add_argument("--without-consolidation", action="store_true",
                        help="scale down only empty nodes and compact nothing")
    parser.add_argument("--pool", choices=POOLS, default="all",
                        help="replay every task, or only the non-LS ones (training) on their own pool")
    parser.add_argument("--checkpoint-minutes", type=float, default=SPOT.checkpoint_interval_s / 60,
                        help="how often checkpointing tasks save their work (default 30)")
    parser.add_argument("--out", type=Path, help="also write the table as Markdown here")
    args = parser.parse_args()
    if not (args.data / "openb_node_list_gpu_node.csv").exists():
        sys.exit(f"no openb trace under {args.data}: pass --data DIR (the folder of openb_*.csv)")
    if args.seeds < 1:
        sys.exit(f"--seeds is {args.seeds}: give 1 or more")
    if not args.checkpoint_minutes > 0:
        sys.exit(f"--checkpoint-minutes is {args.checkpoint_minutes}: give a number of minutes above 0")
    try:
        consolidation = not args.without_consolidation
        text = table(replay(args.data, args.prices, args.packing, args.quick, args.seeds, consolidation,
                            pool=args.pool, checkpoint_interval_s=args.checkpoint_minutes * 60), consolidation) + "\n"
    except ShipyardError as exc:
        sys.exit(exc.render())
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
