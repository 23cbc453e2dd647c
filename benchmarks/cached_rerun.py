"""CPU time of a fully cached `shipyard run pipeline.yaml`, in two source trees, the sides interleaved.

    git archive COMMIT src | tar -x -C /tmp/before     # or: git worktree add --detach /tmp/before COMMIT
    python benchmarks/cached_rerun.py --before /tmp/before [--rounds 10]

The pipeline is the ten trivial steps of `benchmarks/pipelines.py`; each tree gets its own
SHIPYARD_HOME, one unmeasured run fills its cache, then every measured run is a re-run whose
every step is a cache hit. Each round also times a fresh run (`--no-cache`, every step runs in
the worker pool), so that the cached path is compared with running the steps in the same minute.
CPU time (user + system, the process and its children) is what a run costs the machine; on a
shared machine it moves less with the neighbours than the wall time does. Byte code is compiled
first in both trees, as an installed package has it.
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pipelines import write_shipyard_pipeline

HERE = Path(__file__).resolve().parent


def measure(tree: Path, pipeline: Path, home: Path, *options: str) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one `shipyard run` from the source tree ``tree``."""
    env = {**os.environ, "SHIPYARD_HOME": str(home), "PYTHONPATH": str(tree / "src")}
    for key in ("SHIPYARD_DATABASE_URL", "MLFLOW_TRACKING_URI", "PYTHONDONTWRITEBYTECODE"):
        env.pop(key, None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "shipyard", "run", str(pipeline), *options], env=env,
                          cwd=pipeline.parent, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"shipyard run from {tree} exited {done.returncode}: {done.stderr.strip()[-500:]}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", type=Path, required=True, help="the other source tree (holding src/)")
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    trees = {"before": args.before.resolve(), "after": HERE.parent}
    for tree in trees.values():
        compileall.compile_dir(tree / "src", quiet=1)
    with tempfile.TemporaryDirectory() as tmp:
        pipeline = write_shipyard_pipeline(Path(tmp))
        homes = {side: Path(tmp, f"home-{side}") for side in trees}
        for side, tree in trees.items():
            measure(tree, pipeline, homes[side])  # fills the cache
        results: dict[str, list[tuple[float, float]]] = {side: [] for side in trees}
        fresh: dict[str, list[tuple[float, float]]] = {side: [] for side in trees}
        for _ in range(args.rounds):
            for side, tree in trees.items():
                results[side].append(measure(tree, pipeline, homes[side]))
                fresh[side].append(measure(tree, pipeline, homes[side], "--no-cache"))
    print(f"10 trivial steps, {args.rounds} interleaved rounds: the fully cached re-run, and a fresh run (--no-cache)")
    for what, runs in (("cached", results), ("fresh", fresh)):
        for side, samples in runs.items():
            cpu = [c for c, _ in samples]
            wall = [w for _, w in samples]
            print(f"  {what:<6} {side:<7} CPU median {statistics.median(cpu):.3f} s (min {min(cpu):.3f})   "
                  f"wall median {statistics.median(wall):.3f} s (min {min(wall):.3f})")
    ratios = [b[0] / a[0] for a, b in zip(results["after"], results["before"])]
    print(f"  cached, before/after CPU, median of rounds: {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
