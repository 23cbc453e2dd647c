"""What the model card's feature importance (mean |SHAP|) costs the churn example's registration.

    python benchmarks/card_importance.py [--rows 20000]

One cold in-process run of the churn example in a throwaway SHIPYARD_HOME; the table gives the
register step's time, the part of it the importance took (its own clock, `import shap` included),
and, for scale, a cold `import shap` alone in a fresh process and the train step.
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


def main() -> dict[str, float]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="shipyard-bench-importance-"))
    try:
        shutil.copytree(EXAMPLE, folder / "churn", ignore=shutil.ignore_patterns("data", "__pycache__"))
        sys.path.insert(0, str(folder / "churn"))
        from generate import generate_churn

        (folder / "churn" / "data").mkdir()
        generate_churn(n_rows=args.rows).to_csv(folder / "churn" / "data" / "churn.csv", index=False)
        os.environ["SHIPYARD_HOME"] = str(folder / "home")
        for name in ("SHIPYARD_DATABASE_URL", "MLFLOW_TRACKING_URI", "SHIPYARD_URL"):
            os.environ.pop(name, None)
        start = time.perf_counter()
        imported = subprocess.run([sys.executable, "-c", "import shap"], check=True)
        import_s = time.perf_counter() - start
        assert imported.returncode == 0
        from shipyard.pipeline.api import run

        result = run(folder / "churn" / "pipeline.yaml")
        assert result.status == "succeeded", result.error
        steps = {s.name: s.duration_s for s in result.steps}
        importance = result.registration["card_facts"]["feature_importance"]
        figures = {"register step (s)": steps["register"], "of which feature importance (s)": importance["seconds"],
                   "train step (s)": steps["train"], "cold `import shap` alone (s)": import_s}
        print(f"churn example, {args.rows} rows; importance by {importance['method']} on {importance['rows']} "
              "holdout rows")
        for name, value in figures.items():
            print(f"{name:<36} {value:8.2f}")
        return figures
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
