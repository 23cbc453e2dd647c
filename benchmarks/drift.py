"""Drift between two Parquet files, end to end, against Evidently's DataDriftPreset.

    python benchmarks/drift.py [--rows 100000,1000000] [--rounds 3] [--results FILE]

For each size, `rows` reference and `rows` current rows of 20 columns (15 numeric, 5
categorical; 4 numeric and 2 categorical shifted) are written to Parquet in a temporary
folder (deleted after that size). Each side is one process from start to its report —
reading the files, computing drift, writing the report as JSON — timed with its peak
resident memory; Evidently runs in its own virtualenv (it needs pandas < 3). The sides
alternate round by round.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

import peers
from harness import Row, Sample, interleave, measured, not_measured, save_rows, timed

SHIFTED = {"n0", "n1", "n2", "n3", "c0", "c1"}
EVIDENTLY_SCRIPT = '''import json, sys
import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset

reference, current, out = sys.argv[1:]
snapshot = Report([DataDriftPreset()]).run(current_data=pd.read_parquet(current),
                                           reference_data=pd.read_parquet(reference))
with open(out, "w") as f:
    json.dump(snapshot.dict(), f, default=str)
'''


def frame(rows: int, seed: int, shifted: bool) -> pd.DataFrame:
    """Numeric columns filled into one float block (no consolidation copy), categories as pandas categoricals."""
    rng = np.random.default_rng(seed)
    numeric = np.empty((rows, 15))
    for i in range(15):
        shift = 0.5 if shifted and f"n{i}" in SHIFTED else 0.0
        numeric[:, i] = rng.normal(i + shift, 1 + i / 10, rows) if i % 3 else rng.lognormal(1 + shift, 0.4, rows)
    data = pd.DataFrame(numeric, columns=[f"n{i}" for i in range(15)], copy=False)
    for i in range(5):
        categories = np.array([f"v{k}" for k in range(4 + 3 * i)])
        weights = np.linspace(1, 2, categories.size)
        if shifted and f"c{i}" in SHIFTED:
            weights = weights[::-1] ** 2
        data[f"c{i}"] = pd.Categorical.from_codes(rng.choice(categories.size, rows, p=weights / weights.sum()),
                                                  categories)
    return data


def measure_shipyard(reference_path: Path, current_path: Path) -> tuple[float, float]:
    """Seconds and peak MB of `shipyard drift REFERENCE CURRENT --json`, one process start to report."""
    sample = timed(_drift_command(reference_path, current_path))
    return sample.seconds, sample.peak_mb


def check_shipyard_flags_the_shifted_columns(reference_path: Path, current_path: Path) -> None:
    done = subprocess.run(_drift_command(reference_path, current_path), capture_output=True, text=True, check=True)
    flagged = set(json.loads(done.stdout)["drifted"])
    assert flagged == SHIFTED, f"flagged {sorted(flagged)}, shifted {sorted(SHIFTED)}"


def _drift_command(reference_path: Path, current_path: Path) -> list[str]:
    return [sys.executable, "-m", "shipyard", "drift", str(reference_path), str(current_path), "--json"]


def measure_evidently(python: Path, reference_path: Path, current_path: Path) -> tuple[float, float]:
    script = current_path.with_name("evidently_drift.py")
    script.write_text(EVIDENTLY_SCRIPT)
    sample = timed([str(python), str(script), str(reference_path), str(current_path),
                    str(current_path.with_name("evidently-report.json"))])
    return sample.seconds, sample.peak_mb


def compare(rows: int, rounds: int, evidently: peers.Peer | peers.NotMeasured) -> list[Row]:
    what = f"drift, {rows:,} + {rows:,} rows × 20 columns, Parquet, process start to report"
    with tempfile.TemporaryDirectory() as tmp:
        reference, current = Path(tmp, "reference.parquet"), Path(tmp, "current.parquet")
        frame(rows, 0, False).to_parquet(reference)
        frame(rows, 1, True).to_parquet(current)
        check_shipyard_flags_the_shifted_columns(reference, current)
        sides = {"shipyard": lambda: Sample(*measure_shipyard(reference, current))}
        if isinstance(evidently, peers.Peer):
            sides["evidently"] = lambda: Sample(*measure_evidently(evidently.python, reference, current))
        samples = interleave(rounds, sides)
    ours = samples["shipyard"]
    for name, values in samples.items():
        print(f"  {rows:>9,} rows  {name:<10} seconds {', '.join(f'{s.seconds:.2f}' for s in values):<24} "
              f"peak MB {', '.join(f'{s.peak_mb:.0f}' for s in values)}")
    if not isinstance(evidently, peers.Peer):
        return [not_measured(what, "evidently", f"{statistics.median(s.seconds for s in ours):.2f} s",
                             evidently.reason)]
    theirs = samples["evidently"]
    return [measured(f"{what}: time", evidently.label, "s", [s.seconds for s in ours], [s.seconds for s in theirs],
                     higher_is_better=False),
            measured(f"{what}: peak memory", evidently.label, "MB", [s.peak_mb for s in ours],
                     [s.peak_mb for s in theirs], higher_is_better=False, digits=0)]


def main() -> list[Row]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", default="100000,1000000", help="comma-separated sizes")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--results", type=Path)
    args = parser.parse_args()
    evidently = peers.ensure("evidently")
    print(f"drift of two Parquet files, whole process each, {args.rounds} interleaved rounds")
    rows = [row for size in args.rows.split(",") for row in compare(int(size), args.rounds, evidently)]
    if args.results:
        save_rows(args.results, rows)
    return rows


if __name__ == "__main__":
    main()
