"""Drift between two data sets: files streamed by row group judge exactly like the same rows in memory."""

import sqlite3

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shipyard import data_drift
from shipyard.errors import DataError, NotEnoughDataError, UsageError
from shipyard.monitoring.drift import dataset_drift
from shipyard.monitoring.profile import build_profile
from shipyard.spec.monitoring import MonitoringSpec

SPEC = MonitoringSpec()


def _frame(n, seed, *, shift=0.0):
    rng = np.random.default_rng(seed)
    income = rng.lognormal(10 + shift, 0.5, n)
    income[rng.random(n) < 0.05] = np.nan
    plan = rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2] if not shift else [0.2, 0.3, 0.5]).astype(object)
    plan[rng.random(n) < 0.02] = None
    return pd.DataFrame({"income": income, "age": rng.integers(18, 90, n), "plan": plan,
                         "region": rng.choice(["n", "s", "e", "w", "x"], n), "active": rng.random(n) < 0.3})


@pytest.fixture(scope="module")
def frames():
    return _frame(20_000, 0), _frame(12_000, 1, shift=0.4)


@pytest.fixture(scope="module")
def in_memory(frames):
    reference, current = frames
    return dataset_drift(build_profile(reference), current, None, SPEC)


def _parquet(frame, path, row_group_size):
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=row_group_size)
    return path


def test_parquet_read_by_row_group_equals_the_in_memory_statistics(frames, in_memory, tmp_path):
    reference, current = frames
    report = data_drift(_parquet(reference, tmp_path / "ref.parquet", 3_000),
                        _parquet(current, tmp_path / "cur.parquet", 1_000))
    assert report["features"] == in_memory["features"]
    assert report["severity"] == in_memory["severity"] == "critical"
    assert set(report["drifted"]) == {"income", "plan"}
    assert report["reference"] == {"source": str(tmp_path / "ref.parquet"), "rows": 20_000}
    assert report["current"]["rows"] == 12_000 and report["skipped_columns"] == []


def test_a_glob_of_files_and_a_folder_equal_one_file(frames, in_memory, tmp_path):
    reference, current = frames
    (tmp_path / "ref").mkdir()
    for i, part in enumerate(np.array_split(np.arange(len(reference)), 3)):
        _parquet(reference.iloc[part], tmp_path / "ref" / f"part-{i}.parquet", 2_500)
    for i, part in enumerate(np.array_split(np.arange(len(current)), 2)):
        _parquet(current.iloc[part], tmp_path / f"cur-{i}.parquet", 4_000)
    report = data_drift(tmp_path / "ref", str(tmp_path / "cur-*.parquet"))
    assert report["features"] == in_memory["features"]


def test_csv_files_equal_the_same_rows_in_memory(frames, tmp_path):
    reference, current = frames
    reference.to_csv(tmp_path / "ref.csv", index=False)
    current.to_csv(tmp_path / "cur.csv", index=False)
    expected = dataset_drift(build_profile(pd.read_csv(tmp_path / "ref.csv")), pd.read_csv(tmp_path / "cur.csv"),
                             None, SPEC)
    report = data_drift("ref.csv", "cur.csv", base_dir=tmp_path)
    assert report["features"] == expected["features"] and report["severity"] == "critical"


def test_queries_duckdb_and_sqlite_equal_the_files_they_read(frames, in_memory, tmp_path):
    reference, current = frames
    _parquet(reference, tmp_path / "ref.parquet", 5_000)
    _parquet(current, tmp_path / "cur.parquet", 5_000)
    report = data_drift("duckdb:SELECT * FROM 'ref.parquet'", "duckdb: SELECT * FROM 'cur.parquet'",
                        base_dir=tmp_path)
    assert report["features"] == in_memory["features"]
    assert report["current"]["source"] == "duckdb:SELECT * FROM 'cur.parquet'"

    database = tmp_path / "shop.duckdb"
    with duckdb.connect(str(database)) as connection:
        connection.execute(f"CREATE TABLE live AS SELECT * FROM '{tmp_path / 'cur.parquet'}'")
    report = data_drift(tmp_path / "ref.parquet", "duckdb:SELECT * FROM live", duckdb_database=str(database))
    assert report["features"] == in_memory["features"]

    with sqlite3.connect(tmp_path / "shop.db") as connection:  # SQLite has no booleans: leave that column out
        reference.drop(columns="active").to_sql("train", connection, index=False)
        current.drop(columns="active").to_sql("live", connection, index=False)
    report = data_drift("sql:SELECT * FROM train", "sql:SELECT * FROM live", database="sqlite:///shop.db",
                        base_dir=tmp_path)
    assert report["features"] == {name: f for name, f in in_memory["features"].items() if name != "active"}


def test_frames_and_arrow_tables_are_accepted_in_memory(frames, in_memory):
    reference, current = frames
    report = data_drift(reference, pa.Table.from_pandas(current, preserve_index=False))
    assert report["features"] == in_memory["features"]


def test_unchanged_data_is_ok_and_columns_can_be_picked(frames):
    reference, _ = frames
    report = data_drift(reference, _frame(8_000, 7), columns=["income", "plan"])
    assert report["severity"] == "ok" and list(report["features"]) in (["income", "plan"], ["plan", "income"])


def test_columns_only_one_side_has_are_reported_and_a_missing_one_warns(frames):
    reference, current = frames
    report = data_drift(reference, _frame(8_000, 7).drop(columns="region").assign(extra=1.0))
    assert report["missing_columns"] == ["region"] and report["extra_columns"] == ["extra"]
    assert report["severity"] == "warning" and "region" not in report["features"]


def test_times_and_bytes_are_skipped_with_the_reason(frames):
    reference, current = frames
    stamp = pd.Timestamp("2026-01-01")
    report = data_drift(reference.assign(at=stamp, blob=b"x"), current.assign(at=stamp, blob=b"y"))
    assert [(c["column"], c["reason"].split("[")[0]) for c in report["skipped_columns"]] == [
        ("at", "timestamp"), ("blob", "binary values are not compared")]
    assert set(report["features"]) == set(reference.columns)
    with pytest.raises(DataError, match="column 'at' holds timestamp"):
        data_drift(reference.assign(at=stamp), current.assign(at=stamp), columns=["at"])


def test_a_column_with_no_values_on_one_side_is_judged_by_its_nulls(frames):
    reference, current = frames
    report = data_drift(pa.Table.from_pandas(reference, preserve_index=False),
                        pa.Table.from_pandas(current, preserve_index=False).set_column(
                            0, "income", pa.nulls(len(current))))
    income = report["features"]["income"]
    assert income["null_rate"] == 1.0 and income["severity"] == "critical" and income["method"] == "none"


@pytest.mark.parametrize("reference, current, error, message", [
    ("missing.parquet", "cur.parquet", DataError, "missing.parquet does not exist"),
    ("ref.parquet", "other.parquet", DataError, "no column in common"),
    ("ref.parquet", "typed.parquet", DataError,
     r"column 'plan' holds categories \(.*string\) in the reference but numbers \(double\)"),
    ("ref.parquet", "few.parquet", NotEnoughDataError, r"current data \(few.parquet\) has 20 row"),
    ("ref.parquet", "notes.txt", UsageError, "cannot tell the format"),
    ("ref.parquet", "broken.parquet", DataError, "cannot read Parquet file"),
    ("ref.parquet", "sql:SELECT 1", UsageError, "needs the database"),
    ("ref.parquet", "duckdb:", UsageError, "names no query"),
    ("ref.parquet", "duckdb:SELECT * FROM nowhere", DataError, "the DuckDB query failed"),
])
def test_bad_input_is_a_clear_error(frames, tmp_path, reference, current, error, message):
    frame, _ = frames
    _parquet(frame, tmp_path / "ref.parquet", 5_000)
    _parquet(frame.head(200), tmp_path / "cur.parquet", 5_000)
    _parquet(pd.DataFrame({"other": np.arange(200.0)}), tmp_path / "other.parquet", 100)
    _parquet(frame.head(200).assign(plan=1.5), tmp_path / "typed.parquet", 100)
    _parquet(frame.head(20), tmp_path / "few.parquet", 100)
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(error, match=message) as raised:
        data_drift(reference, current, base_dir=tmp_path)
    assert raised.value.hint


def test_columns_not_on_both_sides_are_refused(frames):
    reference, current = frames
    with pytest.raises(DataError, match="column 'nope' is not in the reference data") as raised:
        data_drift(reference, current, columns=["income", "nope"])
    assert "income" in raised.value.hint


def test_a_categorical_of_integers_is_categories_in_files_and_in_memory(tmp_path):
    rng = np.random.default_rng(7)

    def frame(n, weights):
        return pd.DataFrame({"tier": pd.Categorical(rng.choice([1, 2, 3], n, p=weights)),
                             "spend": rng.normal(50, 5, n)})

    reference, current = frame(4_000, [0.6, 0.3, 0.1]), frame(3_000, [0.2, 0.3, 0.5])
    in_memory = dataset_drift(build_profile(reference), current, None, SPEC)
    from_files = data_drift(_parquet(reference, tmp_path / "ref.parquet", 1_000),
                            _parquet(current, tmp_path / "cur.parquet", 1_000))
    assert in_memory["features"]["tier"]["kind"] == from_files["features"]["tier"]["kind"] == "categorical"
    assert from_files["features"] == in_memory["features"]
    assert data_drift(reference, current)["features"] == in_memory["features"]
