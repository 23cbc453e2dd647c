"""The object-storage benchmark runs end to end on a tiny frame and prints its table (figures are not checked)."""

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "object_storage.py"


def test_the_benchmark_measures_every_side(tmp_path):
    for module in ("moto.server", "s3fs", "obstore"):
        pytest.importorskip(module, reason="the benchmark's clients are in the dev extra")
    out = tmp_path / "table.md"
    done = subprocess.run([sys.executable, str(SCRIPT), "--mb", "1", "--rounds", "1", "--out", str(out)],
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [line for line in out.read_text().splitlines() if line.startswith("| ") and "MB/s" not in line]
    assert [row.split(" | ")[0] for row in rows] == ["| local folder", "| S3, s3fs (shipyard)", "| S3, obstore"]
    assert all(float(cell) > 0 for row in rows for cell in row.strip("| ").split(" | ")[1:3])
