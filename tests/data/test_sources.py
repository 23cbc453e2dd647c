import hashlib
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import sqlalchemy as sa

from shipyard.data.sources import read_source, source_columns, source_files, source_fingerprint
from shipyard.errors import DataError, SpecError
from shipyard.spec.models import DataSpec


def spec(source: dict, target: str = "y", timestamp: str | None = None) -> DataSpec:
    return DataSpec.model_validate({"source": source, "target": target, "timestamp": timestamp})


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({
        "id": [1, 2, 3, 4],
        "at": ["2024-01-01 10:00:00", "2024-01-02 11:00:00", "2024-02-01 00:00:00", "2024-03-05 08:30:00"],
        "kind": ["a", "b", None, "a"],
        "y": [0, 1, 1, 0],
    })


def test_csv_file_is_read_and_timestamp_parsed(tmp_path, frame):
    (tmp_path / "data").mkdir()
    frame.to_csv(tmp_path / "data" / "d.csv", index=False)
    result = read_source(spec({"type": "csv", "path": "data/d.csv"}, timestamp="at"), tmp_path)
    assert list(result.columns) == ["id", "at", "kind", "y"]
    assert pd.api.types.is_datetime64_any_dtype(result["at"])
    assert result["at"].iloc[3] == pd.Timestamp("2024-03-05 08:30:00")
    assert result["y"].tolist() == [0, 1, 1, 0]
    assert result["kind"].isna().tolist() == [False, False, True, False]


def test_csv_glob_concatenates_in_sorted_path_order(tmp_path, frame):
    frame.iloc[2:].to_csv(tmp_path / "part-b.csv", index=False)
    frame.iloc[:2].to_csv(tmp_path / "part-a.csv", index=False)
    result = read_source(spec({"type": "csv", "path": "part-*.csv"}), tmp_path)
    assert result["id"].tolist() == [1, 2, 3, 4]
    assert result.index.tolist() == [0, 1, 2, 3]


def test_csv_delimiter(tmp_path, frame):
    frame.to_csv(tmp_path / "d.csv", index=False, sep=";")
    result = read_source(spec({"type": "csv", "path": "d.csv", "delimiter": ";"}), tmp_path)
    assert result.shape == (4, 4)


def test_missing_file_names_resolved_path(tmp_path):
    with pytest.raises(DataError) as info:
        read_source(spec({"type": "csv", "path": "nope/d.csv"}), tmp_path)
    assert str(tmp_path / "nope" / "d.csv") in info.value.message
    assert "does not exist" in info.value.message


def test_glob_matching_nothing(tmp_path):
    with pytest.raises(DataError, match=r"no files match .*missing-\*\.parquet"):
        read_source(spec({"type": "parquet", "path": "missing-*.parquet"}), tmp_path)


def test_missing_target_suggests_closest_column(tmp_path, frame):
    frame.rename(columns={"y": "churned"}).to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(DataError) as info:
        read_source(spec({"type": "csv", "path": "d.csv"}, target="churn"), tmp_path)
    message = info.value.message
    assert "'churn' (did you mean 'churned'?)" in message
    assert "columns: id, at, kind, churned" in message


def test_unparsable_timestamps_are_named(tmp_path, frame):
    frame.assign(at=["2024-01-01", "soon", "2024-01-03", "later"]).to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(DataError) as info:
        read_source(spec({"type": "csv", "path": "d.csv"}, timestamp="at"), tmp_path)
    assert "2 value(s) that are not timestamps" in info.value.message
    assert "'soon', 'later'" in info.value.message


def test_numeric_timestamp_column_is_refused(tmp_path, frame):
    frame.to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(DataError, match="holds int64 values, not timestamps"):
        read_source(spec({"type": "csv", "path": "d.csv"}, timestamp="id"), tmp_path)


def test_parquet_glob_and_folder(tmp_path, frame):
    folder = tmp_path / "parts"
    folder.mkdir()
    frame.iloc[:3].to_parquet(folder / "0.parquet")
    frame.iloc[3:].to_parquet(folder / "1.parquet")
    by_glob = read_source(spec({"type": "parquet", "path": "parts/*.parquet"}, timestamp="at"), tmp_path)
    by_folder = read_source(spec({"type": "parquet", "path": "parts"}, timestamp="at"), tmp_path)
    assert by_glob["id"].tolist() == [1, 2, 3, 4]
    pd.testing.assert_frame_equal(by_glob, by_folder)
    assert by_glob["at"].dt.month.tolist() == [1, 1, 2, 3]


def test_sqlite_database_file_via_sqlalchemy(tmp_path, frame):
    (tmp_path / "db").mkdir()
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'db' / 'shop.db'}")
    frame.to_sql("customers", engine, index=False)
    engine.dispose()
    data = spec({"type": "sql", "url": "sqlite:///db/shop.db",
                 "query": "SELECT id, at, y FROM customers WHERE id > 1 ORDER BY id"}, timestamp="at")
    result = read_source(data, tmp_path)
    assert result["id"].tolist() == [2, 3, 4]
    assert result["at"].iloc[0] == pd.Timestamp("2024-01-02 11:00:00")
    assert source_fingerprint(data, tmp_path) is None


def test_sqlite_missing_file_is_not_created(tmp_path):
    data = spec({"type": "sql", "url": "sqlite:///absent.db", "query": "SELECT 1 AS y"})
    with pytest.raises(DataError, match="SQLite database .*absent.db does not exist"):
        read_source(data, tmp_path)
    assert not (tmp_path / "absent.db").exists()


def test_sql_query_error_is_a_data_error(tmp_path):
    sa.create_engine(f"sqlite:///{tmp_path / 'x.db'}").dispose()
    (tmp_path / "x.db").touch()
    data = spec({"type": "sql", "url": "sqlite:///x.db", "query": "SELECT * FROM missing_table"})
    with pytest.raises(DataError, match="no such table: missing_table"):
        read_source(data, tmp_path)


def test_sql_bad_url_is_a_spec_error(tmp_path):
    with pytest.raises(SpecError):
        read_source(spec({"type": "sql", "url": "nodialect+nodriver://x/y", "query": "SELECT 1"}), tmp_path)


def test_duckdb_query_over_parquet_glob_resolves_against_base_dir(tmp_path, frame, monkeypatch):
    base = tmp_path / "project"
    (base / "lake").mkdir(parents=True)
    frame.iloc[:2].to_parquet(base / "lake" / "a.parquet")
    frame.iloc[2:].to_parquet(base / "lake" / "b.parquet")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    data = spec({"type": "duckdb",
                 "query": "SELECT id, kind, y FROM read_parquet('lake/*.parquet') WHERE y = 1 ORDER BY id"})
    result = read_source(data, base)
    assert result["id"].tolist() == [2, 3]
    assert source_fingerprint(data, base) is None


def test_duckdb_database_file(tmp_path, frame):
    connection = duckdb.connect(str(tmp_path / "w.duckdb"))
    connection.execute("CREATE TABLE t AS SELECT * FROM frame")
    connection.close()
    data = spec({"type": "duckdb", "database": "w.duckdb", "query": "SELECT count(*) AS y FROM t"})
    assert read_source(data, tmp_path)["y"].tolist() == [4]


def test_duckdb_errors(tmp_path):
    with pytest.raises(DataError, match="DuckDB database .*gone.duckdb does not exist"):
        read_source(spec({"type": "duckdb", "database": "gone.duckdb", "query": "SELECT 1 AS y"}), tmp_path)
    with pytest.raises(DataError, match="the DuckDB query failed: .*No files found"):
        read_source(spec({"type": "duckdb", "query": "SELECT * FROM 'nothing/*.parquet'"}), tmp_path)


def test_source_files_sorted(tmp_path, frame):
    for name in ("c.csv", "a.csv", "b.csv"):
        frame.to_csv(tmp_path / name, index=False)
    files = source_files(spec({"type": "csv", "path": "*.csv"}), tmp_path)
    assert [f.name for f in files] == ["a.csv", "b.csv", "c.csv"]
    assert source_files(spec({"type": "sql", "url": "sqlite://", "query": "SELECT 1"}), tmp_path) == []


def test_fingerprint_tracks_content_and_names_not_location(tmp_path):
    first, second = tmp_path / "one", tmp_path / "two"
    for base in (first, second):
        (base / "d").mkdir(parents=True)
        (base / "d" / "a.csv").write_bytes(b"y\n1\n")
        (base / "d" / "b.csv").write_bytes(b"y\n2\n")
    data = spec({"type": "csv", "path": "d/*.csv"})
    digest = source_fingerprint(data, first)
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert source_fingerprint(data, second) == digest
    (second / "d" / "b.csv").write_bytes(b"y\n3\n")
    assert source_fingerprint(data, second) != digest
    (first / "d" / "b.csv").rename(first / "d" / "c.csv")
    assert source_fingerprint(data, first) != digest


def test_fingerprint_streams_large_files(tmp_path):
    payload = bytes(range(256)) * (3 * 4096 + 17)
    (tmp_path / "big.csv").write_bytes(payload)
    data = spec({"type": "csv", "path": "big.csv"})
    digest = source_fingerprint(data, tmp_path)
    assert digest != hashlib.sha256(payload).hexdigest()
    (tmp_path / "big.csv").write_bytes(payload[:-1] + b"\x00")
    assert source_fingerprint(data, tmp_path) != digest


def test_fingerprint_missing_file(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        source_fingerprint(spec({"type": "parquet", "path": "x.parquet"}), Path(tmp_path))


# ---------------------------------------------------------------- column names without the rows


def test_csv_columns_are_the_headers_of_every_file(tmp_path, frame):
    frame.to_csv(tmp_path / "a.csv", index=False)
    frame.assign(extra=1).to_csv(tmp_path / "b.csv", index=False)
    (tmp_path / "semi.csv").write_text("p;q\n1;2\n")
    assert source_columns(spec({"type": "csv", "path": "*.csv"}), tmp_path) == ["id", "at", "kind", "y", "extra",
                                                                                "p;q"]
    assert source_columns(spec({"type": "csv", "path": "semi.csv", "delimiter": ";"}), tmp_path) == ["p", "q"]
    with pytest.raises(DataError, match="data file .*absent.csv does not exist"):
        source_columns(spec({"type": "csv", "path": "absent.csv"}), tmp_path)
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="CSV file .*empty.csv is empty"):
        source_columns(spec({"type": "csv", "path": "empty.csv"}), tmp_path)


def test_parquet_columns_leave_out_a_stored_index(tmp_path, frame):
    frame.set_index("id").to_parquet(tmp_path / "indexed.parquet")
    assert source_columns(spec({"type": "parquet", "path": "indexed.parquet"}), tmp_path) == ["at", "kind", "y"]
    assert list(read_source(spec({"type": "parquet", "path": "indexed.parquet"}), tmp_path).columns) == \
        ["at", "kind", "y"]
    (tmp_path / "broken.parquet").write_bytes(b"not parquet")
    with pytest.raises(DataError, match="cannot read Parquet file"):
        source_columns(spec({"type": "parquet", "path": "broken.parquet"}), tmp_path)


def test_sql_columns_run_the_query_for_no_rows(tmp_path, frame):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'shop.db'}")
    frame.to_sql("customers", engine, index=False)
    engine.dispose()
    # A query whose rows cannot be computed: reading any row raises, planning it does not.
    query = "SELECT id, y, abs(-9223372036854775807 - id) AS boom FROM customers;"
    data = spec({"type": "sql", "url": "sqlite:///shop.db", "query": query})
    with pytest.raises(DataError, match="integer overflow"):
        read_source(data, tmp_path)
    assert source_columns(data, tmp_path) == ["id", "y", "boom"]
    commented = spec({"type": "sql", "url": "sqlite:///shop.db", "query": "SELECT id, y FROM customers -- all"})
    assert source_columns(commented, tmp_path) == ["id", "y"]
    pragma = spec({"type": "sql", "url": "sqlite:///shop.db", "query": "PRAGMA table_info(customers)"})
    assert source_columns(pragma, tmp_path) == list(read_source(pragma.model_copy(update={"target": "name"}),
                                                                tmp_path).columns)
    with pytest.raises(DataError, match="no such table: nope"):
        source_columns(spec({"type": "sql", "url": "sqlite:///shop.db", "query": "SELECT * FROM nope"}), tmp_path)


def test_duckdb_columns_come_from_describe(tmp_path, frame):
    (tmp_path / "lake").mkdir()
    frame.to_parquet(tmp_path / "lake" / "a.parquet")
    query = "SELECT id, kind AS segment, error('rows were read') AS y FROM read_parquet('lake/*.parquet')"
    data = spec({"type": "duckdb", "query": query})
    with pytest.raises(DataError, match="rows were read"):
        read_source(data, tmp_path)
    assert source_columns(data, tmp_path) == ["id", "segment", "y"]


@pytest.mark.postgres
def test_postgresql_columns_of_a_query_with_a_cte(new_postgres_database, frame):
    url = new_postgres_database("shipyard_sources")
    engine = sa.create_engine(url)
    frame.to_sql("customers", engine, index=False)
    engine.dispose()
    query = ("WITH recent AS (SELECT id, y, 1 / (id - id) AS boom FROM customers)\n"
             "SELECT id AS customer, y, boom FROM recent;\n")
    data = spec({"type": "sql", "url": url, "query": query})
    with pytest.raises(DataError, match="division by zero"):
        read_source(data, Path("."))
    assert source_columns(data, Path(".")) == ["customer", "y", "boom"]
