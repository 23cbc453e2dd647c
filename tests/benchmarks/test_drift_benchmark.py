import ast
import os

import pytest

import drift
from harness import GNU_TIME


def test_the_generated_shift_is_the_one_shipyard_flags(tmp_path):
    reference, current = tmp_path / "reference.parquet", tmp_path / "current.parquet"
    drift.frame(5000, 0, False).to_parquet(reference)
    drift.frame(5000, 1, True).to_parquet(current)
    drift.check_shipyard_flags_the_shifted_columns(reference, current)


@pytest.mark.skipif(not os.access(GNU_TIME, os.X_OK), reason="GNU time is not installed (apt-get install time)")
def test_measure_shipyard_times_a_whole_process_and_its_memory(tmp_path):
    reference, current = tmp_path / "reference.parquet", tmp_path / "current.parquet"
    drift.frame(2000, 0, False).to_parquet(reference)
    drift.frame(2000, 1, True).to_parquet(current)
    seconds, peak_mb = drift.measure_shipyard(reference, current)
    assert seconds > 0.1 and peak_mb > 50  # an interpreter with the drift path loaded, not this process's memory


def test_the_evidently_side_is_a_script_of_its_own():
    tree = ast.parse(drift.EVIDENTLY_SCRIPT)
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names}
    assert {"Report", "DataDriftPreset"} <= imported
