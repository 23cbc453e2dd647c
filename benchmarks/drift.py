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
import importlib.util
import json
import statistics
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


def shipyard_report(reference_path: Path, current_path: Path, out: Path) -> None:
    """shipyard's side, in its own process: the reference profile, then drift of the current file against it."""
    from shipyard.monitoring.drift import dataset_drift
    from shipyard.monitoring.profile import build_profile
    from shipyard.spec.monitoring import MonitoringSpec

    reference, current = pd.read_parquet(reference_path), pd.read_parquet(current_path)
    profile = build_profile(reference, np.where(reference.n1 > 1, "1", "0"), task="classification")
    report = dataset_drift(profile, current, pd.Series(np.where(current.n1 > 1, "1", "0")), MonitoringSpec())
    assert set(report["drifted"]) == SHIFTED, f"flagged {sorted(report['drifted'])}, shifted {sorted(SHIFTED)}"
    out.write_text(json.dumps(report, default=str))


def measure_shipyard(reference_path: Path, current_path: Path) -> tuple[float, float]:
    """Seconds and peak MB of shipyard's drift of two files, one process start to report.

    Through `shipyard drift REFERENCE CURRENT --json` where the command exists, else through
    the reference profile and drift functions in a process of their own.
    """
    if importlib.util.find_spec("shipyard.cli.drift") is not None:
        command = [sys.executable, "-m", "shipyard", "drift", str(reference_path), str(current_path), "--json"]
    else:
        command = [sys.executable, __file__, "--report", str(reference_path), str(current_path),
                   str(current_path.with_name("shipyard-report.json"))]
    sample = timed(command)
    return sample.seconds, sample.peak_mb


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
    parser.add_argument("--report", nargs=3, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.report:
        shipyard_report(*args.report)
        return []
    evidently = peers.ensure("evidently")
    print(f"drift of two Parquet files, whole process each, {args.rounds} interleaved rounds")
    rows = [row for size in args.rows.split(",") for row in compare(int(size), args.rounds, evidently)]
    if args.results:
        save_rows(args.results, rows)
    return rows


if __name__ == "__main__":
    main()
