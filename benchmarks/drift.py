"""`shipyard drift ref.parquet cur.parquet` as a user runs it, at 100k and 1M rows × 20 columns.

    python benchmarks/drift.py [--rows 100000 1000000]

Writes `rows` reference and `rows` current rows of 20 columns (15 numeric, 5
categorical; 4 numeric and 2 categorical shifted) to Parquet in a temporary folder,
runs the command in a fresh process and reports its wall time from process start to
report and its peak resident memory, then deletes the data.
Evidently 0.7.23 does not import next to pandas 3, so its DataDriftPreset figures on
this machine class (from a separate virtual environment, same shape) are printed beside
ours; `measure_shipyard(reference_path, current_path) -> (seconds, peak_mb)` is the
shipyard side, for a harness that runs both.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

EVIDENTLY = {1_000_000: (95.8, 1600), 100_000: (6.5, None)}  # seconds, peak MB
SHIFTED = {"n0", "n1", "n2", "n3", "c0", "c1"}
_FEATURE_ROW = re.compile(r"^│ (\S+)\s+│ (ok|warning|critical)\s+│", re.MULTILINE)


def write_data(path: Path, rows: int, seed: int, shifted: bool) -> None:
    """One Parquet file: 15 numeric columns (normal or lognormal) and 5 text categories, written as pandas would."""
    rng = np.random.default_rng(seed)
    columns: dict[str, pa.Array] = {}
    for i in range(15):
        shift = 0.5 if shifted and f"n{i}" in SHIFTED else 0.0
        columns[f"n{i}"] = pa.array(rng.normal(i + shift, 1 + i / 10, rows) if i % 3
                                    else rng.lognormal(1 + shift, 0.4, rows))
    for i in range(5):
        categories = pa.array([f"v{k}" for k in range(4 + 3 * i)])
        weights = np.linspace(1, 2, len(categories))
        if shifted and f"c{i}" in SHIFTED:
            weights = weights[::-1] ** 2
        codes = pa.array(rng.choice(len(categories), rows, p=weights / weights.sum()).astype("int32"))
        columns[f"c{i}"] = categories.take(codes)
    pq.write_table(pa.table(columns), path)


# Started from a small Python process, the command's peak resident memory is its own: a child forked from
# a big process (one that just wrote a million rows) inherits that process's high-water mark in ru_maxrss.
_LAUNCHER = """
import os, subprocess, sys, time
started = time.perf_counter()
child = subprocess.Popen(sys.argv[1:])
_, status, usage = os.wait4(child.pid, 0)
child.returncode = os.waitstatus_to_exitcode(status)
print(f"{time.perf_counter() - started} {usage.ru_maxrss} {child.returncode}", file=sys.stderr)
"""


def run_shipyard(reference_path: str | Path, current_path: str | Path) -> tuple[float, float, str]:
    """Wall seconds (process start to report) and peak MB of one `shipyard drift` process, and what it printed."""
    command = [sys.executable, "-m", "shipyard", "drift", str(reference_path), str(current_path)]
    done = subprocess.run([sys.executable, "-c", _LAUNCHER, *command], capture_output=True, text=True)
    *errors, measured = done.stderr.strip().splitlines() or [""]
    seconds, peak_kb, code = measured.split()
    if int(code) != 0:
        raise RuntimeError(f"{' '.join(command)} exited {code}:\n" + "\n".join(errors))
    return float(seconds), float(peak_kb) / 1024, done.stdout


def measure_shipyard(reference_path: str | Path, current_path: str | Path) -> tuple[float, float]:
    """Seconds from process start to report, and peak resident MB, of `shipyard drift REFERENCE CURRENT`."""
    seconds, peak_mb, _ = run_shipyard(reference_path, current_path)
    return seconds, peak_mb


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    args = parser.parse_args()
    print(f"{'rows':>10}  {'':<26}{'seconds':>9}{'peak MB':>9}  vs Evidently")
    for rows in args.rows:
        folder = Path(tempfile.mkdtemp(prefix="shipyard-drift-bench-"))
        try:
            reference, current = folder / "ref.parquet", folder / "cur.parquet"
            write_data(reference, rows, 0, False)
            write_data(current, rows, 1, True)
            seconds, peak_mb, printed = run_shipyard(reference, current)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        flagged = {name for name, severity in _FEATURE_ROW.findall(printed) if severity != "ok"}
        assert flagged == SHIFTED, f"flagged {sorted(flagged)}, shifted {sorted(SHIFTED)}"
        evidently_s, evidently_mb = EVIDENTLY.get(rows, (None, None))
        versus = (f"{evidently_s / seconds:.0f}x faster" if evidently_s else "") + \
                 (f", {peak_mb / evidently_mb:.2f} of its memory" if evidently_mb else "")
        print(f"{rows:>10,}  {'shipyard drift':<26}{seconds:>9.2f}{peak_mb:>9.0f}  {versus}")
        if evidently_s:
            print(f"{'':>10}  {'Evidently DataDriftPreset':<26}{evidently_s:>9.2f}"
                  f"{evidently_mb if evidently_mb else float('nan'):>9.0f}")
    print(f"flagged exactly the shifted columns: {', '.join(sorted(SHIFTED))}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
