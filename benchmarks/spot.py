"""Spot capacity on Alibaba's openb GPU-cluster trace: cost and completion time against all on-demand.

    python benchmarks/spot.py [--data DIR] [--prices FILE] [--policy NAME] [--quick] [--out FILE]

The default task list replays in time: each task arrives at its creation time and runs until
its deletion time's worth of work is done. The all-on-demand run and each spot setting (share
of nodes on spot, reclaims per spot node-hour, checkpoint interval) run on the same nodes and
tasks; ``BE`` tasks are spot-tolerant (batch training that checkpoints), ``LS`` serving and the
rest never run on spot. Printed side by side: total cost, the spot-tolerant tasks' cost and its
saving, the makespan, the extra time the tolerant tasks took (waiting plus redone work: mean,
p95, max), reclaims, GPU-hours of lost work and the share of tolerant GPU-hours that ran on spot.
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
from shipyard.scheduling.policies import make_policy  # noqa: E402
from shipyard.scheduling.spot import SpotSettings, simulate  # noqa: E402
from shipyard.scheduling.trace import load_arrivals, load_nodes  # noqa: E402

SETTINGS = {
    "spot 35%, 0.05/h, ckpt 30 min": SpotSettings(share=0.35, preemption_rate=0.05, checkpoint_interval_s=1800),
    "spot 35%, 0.2/h, ckpt 30 min": SpotSettings(share=0.35, preemption_rate=0.2, checkpoint_interval_s=1800),
    "spot 35%, 0.2/h, ckpt 2 h": SpotSettings(share=0.35, preemption_rate=0.2, checkpoint_interval_s=7200),
    "spot 20%, 0.2/h, ckpt 30 min": SpotSettings(share=0.2, preemption_rate=0.2, checkpoint_interval_s=1800),
}


def run(data: Path, prices_file: Path, policy: str, quick: bool, settings=SETTINGS) -> dict[str, object]:
    nodes = load_nodes(data / "openb_node_list_gpu_node.csv")
    arrivals = load_arrivals(data / "openb_pod_list_default.csv")
    if quick:
        nodes, arrivals = nodes[::4], arrivals[:2000]
    prices = parse_prices(prices_file.read_text(), source=str(prices_file))
    results: dict[str, object] = {}
    for name, spot in {"all on-demand": None, **settings}.items():
        started = time.perf_counter()
        results[name] = simulate(arrivals, nodes, prices, lambda: make_policy(policy), spot=spot)
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


def _change(ours: float, theirs: float) -> str:
    return f"{ours / theirs - 1:+.1%}" if theirs else "n/a"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data" / "openb")
    parser.add_argument("--prices", type=Path, default=HERE / "spot_prices.toml")
    parser.add_argument("--policy", default="best-fit")
    parser.add_argument("--quick", action="store_true", help="a quarter of the nodes, 2,000 tasks")
    parser.add_argument("--out", type=Path, help="also write the table as Markdown here")
    args = parser.parse_args()
    if not (args.data / "openb_node_list_gpu_node.csv").exists():
        sys.exit(f"no openb trace under {args.data}: pass --data DIR (the folder of openb_*.csv)")
    text = table(run(args.data, args.prices, args.policy, args.quick)) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
