"""Spot capacity on Alibaba's openb GPU-cluster trace: cost and completion time against all on-demand.

    python benchmarks/spot.py [--data DIR] [--prices FILE] [--policy NAME[,NAME…]] [--quick] [--out FILE]

The default task list replays in time: each task arrives at its creation time and runs until
its deletion time's worth of work is done. The all-on-demand run and each spot setting (share
of nodes on spot, reclaims per spot node-hour, checkpoint interval) run on the same nodes and
tasks; ``BE`` tasks are spot-tolerant (batch training that checkpoints), ``LS`` serving and the
rest never run on spot. Printed side by side: total cost, the spot-tolerant tasks' cost and its
saving, the makespan, the extra time the tolerant tasks took (waiting plus redone work: mean,
p95, max), reclaims, GPU-hours of lost work and the share of tolerant GPU-hours that ran on spot.
A second table follows every reclaim, per policy and setting: the time from its capacity returning
(the replacement node joining) to the task running again (goal: at most 10 minutes), the time from
the reclaim itself, and the work lost per reclaim against the checkpoint interval K (at most K).
``--quick`` replays a quarter of the nodes and the first 2,000 tasks: proves the harness.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from shipyard.governance.prices import parse_prices  # noqa: E402
from shipyard.scheduling.fragmentation import Workload  # noqa: E402
from shipyard.scheduling.policies import make_policy  # noqa: E402
from shipyard.scheduling.spot import SpotSettings, simulate  # noqa: E402
from shipyard.scheduling.trace import load_arrivals, load_nodes  # noqa: E402

SETTINGS = {
    "spot 35%, 0.05/h, ckpt 30 min": SpotSettings(share=0.35, preemption_rate=0.05, checkpoint_interval_s=1800),
    "spot 35%, 0.2/h, ckpt 30 min": SpotSettings(share=0.35, preemption_rate=0.2, checkpoint_interval_s=1800),
    "spot 35%, 0.2/h, ckpt 2 h": SpotSettings(share=0.35, preemption_rate=0.2, checkpoint_interval_s=7200),
    "spot 20%, 0.2/h, ckpt 30 min": SpotSettings(share=0.2, preemption_rate=0.2, checkpoint_interval_s=1800),
    "spot 35%, 0.2/h, ckpt 30 min, replaced in 5 min": SpotSettings(share=0.35, preemption_rate=0.2,
                                                                    checkpoint_interval_s=1800, replacement_s=300),
}
RESUME_GOAL_S = 600


def run(data: Path, prices_file: Path, policy: str, quick: bool, settings=SETTINGS) -> dict[str, object]:
    nodes = load_nodes(data / "openb_node_list_gpu_node.csv")
    arrivals = load_arrivals(data / "openb_pod_list_default.csv")
    if quick:
        nodes, arrivals = nodes[::4], arrivals[:2000]
    prices = parse_prices(prices_file.read_text(), source=str(prices_file))
    workload = Workload.of([a.task for a in arrivals])
    results: dict[str, object] = {}
    for name, spot in {"all on-demand": None, **settings}.items():
        started = time.perf_counter()
        results[name] = simulate(arrivals, nodes, prices, lambda: make_policy(policy, workload=workload), spot=spot)
        print(f"  {name:32} ({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)
    return results


def table(results) -> str:
    base = results["all on-demand"]
    lines = ["| run | total cost | vs on-demand | spot-tolerant cost | vs on-demand | makespan (days) | "
             "tolerant extra time mean / p95 / max (s) | reclaims | lost GPU-h | tolerant GPU-h on spot |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        delay = r.tolerant_delay_s if len(r.tolerant_delay_s) else np.zeros(1)
        lines.append(
            f"| {name} | {r.cost:,.0f} | {_change(r.cost, base.cost)} | {r.tolerant_cost:,.0f} | "
            f"{_change(r.tolerant_cost, base.tolerant_cost)} | {r.makespan_s / 86400:.2f} | "
            f"{delay.mean():,.0f} / {np.percentile(delay, 95):,.0f} / {delay.max():,.0f} | {r.preemptions} | "
            f"{r.lost_gpu_hours:,.1f} | {r.spot_gpu_share:.1%} |")
    return "\n".join(lines)


def recovery_table(by_policy: dict[str, dict[str, object]], settings=SETTINGS) -> str:
    """Per policy and spot setting: how soon reclaimed tasks ran again, and how much work each reclaim lost."""
    lines = ["| policy | run | reclaims | resumed | capacity back → running p50 / p95 / max (s) | within 10 min | "
             "reclaim → running p50 / p95 / max (s) | lost work per reclaim mean / max (min) | K (min) | "
             "max lost / K |", "|---|---|---|---|---|---|---|---|---|---|"]
    for policy, results in by_policy.items():
        for name, spot in settings.items():
            r = results[name]
            back, since, lost = r.resume_after_return_s, r.resume_after_reclaim_s, r.lost_work_s
            within = f"{(back <= RESUME_GOAL_S).mean():.1%}" if len(back) else "n/a"
            interval = spot.checkpoint_interval_s
            lines.append(
                f"| {policy} | {name} | {r.preemptions} | {len(back)} | {_spread(back)} | {within} | "
                f"{_spread(since)} | {_minutes(lost)} | {interval / 60:.0f} | "
                f"{(lost.max() / interval if len(lost) else 0):.3f} |")
    return "\n".join(lines)


def _spread(values: np.ndarray) -> str:
    if not len(values):
        return "n/a"
    return f"{np.percentile(values, 50):,.0f} / {np.percentile(values, 95):,.0f} / {values.max():,.0f}"


def _minutes(values: np.ndarray) -> str:
    return f"{values.mean() / 60:.1f} / {values.max() / 60:.1f}" if len(values) else "n/a"


def _change(ours: float, theirs: float) -> str:
    return f"{ours / theirs - 1:+.1%}" if theirs else "n/a"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data" / "openb")
    parser.add_argument("--prices", type=Path, default=HERE / "spot_prices.toml")
    parser.add_argument("--policy", default="best-fit", help="placement policies, comma-separated")
    parser.add_argument("--quick", action="store_true", help="a quarter of the nodes, 2,000 tasks")
    parser.add_argument("--out", type=Path, help="also write the table as Markdown here")
    args = parser.parse_args()
    if not (args.data / "openb_node_list_gpu_node.csv").exists():
        sys.exit(f"no openb trace under {args.data}: pass --data DIR (the folder of openb_*.csv)")
    by_policy = {}
    parts = []
    for policy in [p.strip() for p in args.policy.split(",") if p.strip()]:
        print(f"{policy}:", file=sys.stderr, flush=True)
        by_policy[policy] = run(args.data, args.prices, policy, args.quick)
        parts.append(f"{policy}:\n\n{table(by_policy[policy])}\n")
    text = "\n".join(parts) + "\n" + recovery_table(by_policy) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
