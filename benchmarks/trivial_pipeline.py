"""Whole-process wall time of a 10-step linear pipeline of trivial steps, interpreter start included.

    python benchmarks/trivial_pipeline.py [--repeat 7]

Peer: a 10-step linear Metaflow flow, median 4.0 s on this machine class.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
METAFLOW_MEDIAN_S = 4.0


def run_once() -> None:
    sys.path.insert(0, str(HERE))
    from shipyard.pipeline.dag import Dag, StepNode
    from shipyard.pipeline.runner import RunOptions, Runner, RunPlan

    nodes = [StepNode(name="s0", kind="user", impl="trivial_steps:first", user_code=True)]
    for i in range(1, 10):
        nodes.append(StepNode(name=f"s{i}", kind="user", impl="trivial_steps:increment",
                              inputs={"value": f"s{i - 1}.result"}, user_code=True))
    plan = RunPlan(dag=Dag(tuple(nodes)), pipeline="trivial", base_dir=HERE)
    result = Runner(plan, options=RunOptions(no_cache=True)).run()
    if result.status != "succeeded":
        raise SystemExit(f"benchmark pipeline failed: {result.error}")


def measure(repeat: int) -> list[float]:
    times = []
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "SHIPYARD_HOME": home}
        env.pop("SHIPYARD_DATABASE_URL", None)
        subprocess.run([sys.executable, __file__, "--once"], env=env, check=True)  # creates the store
        for _ in range(repeat):
            start = time.perf_counter()
            subprocess.run([sys.executable, __file__, "--once"], env=env, check=True)
            times.append(time.perf_counter() - start)
    return times


def main() -> dict[str, float]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--once", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    if args.once:
        run_once()
        return {}
    times = measure(args.repeat)
    median = statistics.median(times)
    print("10-step trivial pipeline, whole process (interpreter start included)")
    print(f"{'':24}{'median':>10}{'min':>10}{'max':>10}")
    print(f"{'shipyard':24}{median:>9.2f}s{min(times):>9.2f}s{max(times):>9.2f}s")
    print(f"{'Metaflow (recorded)':24}{METAFLOW_MEDIAN_S:>9.2f}s")
    print(f"target < 1.00 s: {'met' if median < 1.0 else 'NOT met'}")
    return {"median_s": median}


if __name__ == "__main__":
    main()
