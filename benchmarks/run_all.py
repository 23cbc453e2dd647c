"""Every benchmark with its peers measured in the same run, then one table: ``make bench``.

    python benchmarks/run_all.py [--quick] [--out FILE]

The peers are installed from PyPI into their own virtualenvs under `.bench-venvs/` on first
use. The table is printed and written as Markdown (with the date and the machine) to
`--out`, by default `.bench-results/bench-<UTC time>.md`, for docs/benchmarks.md to record.
`--quick` proves the harness end to end in a few minutes with tiny sizes, short wrk runs and
two rounds; its figures are not ones to record.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from harness import load_rows, machine, render_markdown, render_text

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
FULL = {
    "pipelines.py": ["--rounds", "5"],
    "serving.py": ["--duration", "10", "--rounds", "3"],
    "drift.py": ["--rows", "100000,1000000", "--rounds", "3"],
    "api.py": ["--models", "100", "--versions", "50", "--duration", "10", "--rounds", "3"],
    "dashboard.py": ["--runs", "10000", "--rounds", "5"],
}
QUICK = {
    "pipelines.py": ["--rounds", "2"],
    "serving.py": ["--duration", "2", "--rounds", "2", "--churn-rows", "3000"],
    "drift.py": ["--rows", "10000", "--rounds", "2"],
    "api.py": ["--models", "4", "--versions", "3", "--duration", "1", "--rounds", "2"],
    "dashboard.py": ["--runs", "30", "--rounds", "2"],
}
SHIPYARD_ONLY = {"churn_pipeline.py": (["--repeat", "3"], ["--rows", "2000", "--repeat", "1"])}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="tiny sizes: prove the harness, not the figures")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = args.out or ROOT / ".bench-results" / f"bench-{stamp}{'-quick' if args.quick else ''}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    failed = []
    with tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp) / "rows.jsonl"
        for script, options in (QUICK if args.quick else FULL).items():
            print(f"== {script} {' '.join(options)}", flush=True)
            if subprocess.run([sys.executable, str(HERE / script), *options, "--results", str(results)]).returncode:
                failed.append(script)
            print(flush=True)
        for script, (full, quick) in SHIPYARD_ONLY.items():
            print(f"== {script} (no peer)", flush=True)
            if subprocess.run([sys.executable, str(HERE / script), *(quick if args.quick else full)]).returncode:
                failed.append(script)
            print(flush=True)
        rows = load_rows(results)
    command = "make bench QUICK=1" if args.quick else "make bench"
    print(render_text(rows))
    out.write_text(render_markdown(rows, machine(), command))
    print(f"\nwritten to {out}")
    if failed:
        raise SystemExit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
