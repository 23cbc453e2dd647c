"""Cold run and fully cached re-run of the churn example, whole process each.

    python benchmarks/churn_pipeline.py [--rows 20000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "churn"


def shipyard_run(pipeline: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "shipyard", "run", str(pipeline)], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> dict[str, float]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=3, help="cached re-runs to time")
    args = parser.parse_args()
    sys.path.insert(0, str(EXAMPLE))
    from generate import generate_churn

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        shutil.copy(EXAMPLE / "pipeline.yaml", workdir / "pipeline.yaml")
        (workdir / "data").mkdir()
        generate_churn(n_rows=args.rows, seed=0).to_csv(workdir / "data" / "churn.csv", index=False)
        env = {**os.environ, "SHIPYARD_HOME": str(workdir / "home")}
        for key in ("SHIPYARD_DATABASE_URL", "MLFLOW_TRACKING_URI"):
            env.pop(key, None)
        cold = shipyard_run(workdir / "pipeline.yaml", env)
        cached = sorted(shipyard_run(workdir / "pipeline.yaml", env) for _ in range(args.repeat))
    warm = cached[len(cached) // 2]
    print(f"churn example ({args.rows} rows, 6-trial sweep), whole process")
    print(f"{'':28}{'shipyard':>10}{'target':>10}")
    print(f"{'cold run':28}{cold:>9.2f}s{'< 30s':>10}")
    print(f"{'fully cached re-run':28}{warm:>9.2f}s{'< 2s':>10}")
    return {"cold_s": cold, "cached_s": warm}


if __name__ == "__main__":
    main()
