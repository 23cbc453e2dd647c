"""Every scheduling policy replayed on Alibaba's openb GPU-cluster trace, after the FGD paper (ATC '23).

    python benchmarks/scheduling.py [--data DIR] [--quick] [--out FILE] [--plot FILE]

For each task list (the default one and the paper's multi-GPU, GPU-sharing and GPU-type
variants) and each policy, tasks arrive in trace order (then drawn at random from the trace,
seeded) against the 1,213 GPU nodes until the arrived GPU demand is 130% of the capacity;
tasks never leave and one that fits nowhere fails. Printed per policy: the share of GPU
capacity allocated when the arrived demand reaches 100% and 130% of it, the GPUs left
unallocated then, the expected fragment (FGD's measure) at 100%, and the decision latency
(wall clock and CPU time per task, median and p99). Then the headline ratios: FGD's
unallocated GPUs against the best baseline, and fgd-pack's against FGD. The plot (PNG,
matplotlib) shows the allocated share against the arrived demand, one panel per task list.
`--quick` replays an eighth of the nodes to 110%: proves the harness, not the figures.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from shipyard.scheduling.fragmentation import Workload  # noqa: E402
from shipyard.scheduling.policies import POLICIES, make_policy  # noqa: E402
from shipyard.scheduling.simulator import replay  # noqa: E402
from shipyard.scheduling.trace import load_nodes, load_tasks  # noqa: E402

VARIANTS = {"default": "openb_pod_list_default.csv", "multi-GPU 50%": "openb_pod_list_multigpu50.csv",
            "GPU-sharing 40%": "openb_pod_list_gpushare40.csv", "GPU-type 33%": "openb_pod_list_gpuspec33.csv"}
BASELINES = ("random", "best-fit", "dot-product", "gpu-packing", "gpu-clustering")


def run(data: Path, quick: bool, seed: int) -> dict[str, dict[str, object]]:
    nodes = load_nodes(data / "openb_node_list_gpu_node.csv")
    if quick:
        nodes = nodes[::8]
    max_demand = 1.1 if quick else 1.3
    results: dict[str, dict[str, object]] = {}
    for variant, file in VARIANTS.items():
        tasks = load_tasks(data / file)
        workload = Workload.of(tasks)
        results[variant] = {}
        for name in POLICIES:
            started = time.perf_counter()
            outcome = replay(tasks, nodes, make_policy(name, workload=workload, seed=seed), workload=workload,
                             max_demand=max_demand, seed=seed)
            results[variant][name] = outcome
            print(f"  {variant:16} {name:15} {len(outcome.latency_s):6} tasks  "
                  f"allocated {outcome.allocated_share_at(1.0):.2%} at 100% demand  "
                  f"({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)
    return results


def table(results, top: float) -> str:
    lines = [f"| task list | policy | allocated at 100% | unallocated at 100% | allocated at {top:.0%} | "
             f"unallocated at {top:.0%} | fragment at 100% | latency median / p99 (ms) | CPU p99 (ms) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for variant, by_policy in results.items():
        for name, r in by_policy.items():
            lines.append(
                f"| {variant} | {name} | {r.allocated_share_at(1.0):.2%} | {1 - r.allocated_share_at(1.0):.2%} | "
                f"{r.allocated_share_at(top):.2%} | {1 - r.allocated_share_at(top):.2%} | "
                f"{r.fragment_share_at(1.0):.2%} | {np.median(r.latency_s) * 1e3:.2f} / "
                f"{np.percentile(r.latency_s, 99) * 1e3:.2f} | {np.percentile(r.cpu_s, 99) * 1e3:.2f} |")
    return "\n".join(lines)


def headline(results, top: float) -> str:
    lines = ["| task list | best baseline | its unallocated | fgd | fewer than the baseline | fgd-pack | "
             "fewer than fgd |", "|---|---|---|---|---|---|---|"]
    for variant, by_policy in results.items():
        unallocated = {name: 1 - r.allocated_share_at(top) for name, r in by_policy.items()}
        best = min(BASELINES, key=unallocated.get)
        fgd, plus = unallocated["fgd"], unallocated["fgd-pack"]
        lines.append(f"| {variant} | {best} | {unallocated[best]:.2%} | {fgd:.2%} | "
                     f"{_fewer(fgd, unallocated[best])} | {plus:.2%} | {_fewer(plus, fgd)} |")
    return "\n".join(lines)


def _fewer(ours: float, theirs: float) -> str:
    return f"{1 - ours / theirs:.1%}" if theirs > 0 else "n/a (none unallocated)"


def plot(results, path: Path, top: float) -> bool:
    try:
        import matplotlib
    except ImportError:
        print("matplotlib is not installed: no plot (pip install matplotlib)", file=sys.stderr)
        return False
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = 2 if len(results) > 1 else 1
    rows = -(-len(results) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(6.5 * columns, 4.6 * rows), sharey=True, squeeze=False)
    axes = axes.ravel()
    demand = np.linspace(0.5, top, 81)
    for axis, (variant, by_policy) in zip(axes, results.items()):
        for name, r in by_policy.items():
            axis.plot(demand * 100, [r.allocated_share_at(d) * 100 for d in demand], label=name,
                      linewidth=2.2 if name.startswith("fgd") else 1.2)
        axis.plot(demand * 100, np.minimum(demand, 1) * 100, color="grey", linestyle=":", linewidth=1)
        axis.set_title(variant)
        axis.set_xlabel("arrived GPU demand (% of capacity)")
        axis.set_ylabel("GPU capacity allocated (%)")
        axis.set_ylim(70, 100)
        axis.grid(alpha=0.3)
    for axis in axes[len(results):]:
        axis.set_visible(False)
    axes[0].legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    return True


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data" / "openb")
    parser.add_argument("--quick", action="store_true", help="an eighth of the nodes, to 110%: proves the harness")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="also write the tables as Markdown here")
    parser.add_argument("--plot", type=Path, help="write the allocation-vs-demand plot (PNG) here")
    args = parser.parse_args()
    if not (args.data / "openb_node_list_gpu_node.csv").exists():
        sys.exit(f"no openb trace under {args.data}: pass --data DIR (the folder of openb_*.csv)")
    top = 1.1 if args.quick else 1.3
    results = run(args.data, args.quick, args.seed)
    text = f"{table(results, top)}\n\n{headline(results, top)}\n"
    print(text)
    if args.out:
        args.out.write_text(text)
    if args.plot and plot(results, args.plot, top):
        print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
