"""Data sets named on the command line, read as Arrow: Parquet one column of one row group at a time."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shipyard.data.tables import ArrowTable, ParquetTable, open_table
from shipyard.errors import DataError


def _values(table, name):
    return [v for chunk in table.column_chunks(name) for v in chunk.to_pylist()]


def test_parquet_is_read_one_row_group_at_a_time_with_text_dictionary_encoded(tmp_path):
    data = pa.table({"x": np.arange(10_000.0), "tier": pa.array(["a", "b"] * 5_000)})
    pq.write_table(data, tmp_path / "d.parquet", row_group_size=1_000)
    table = open_table("d.parquet", base_dir=tmp_path)
    assert isinstance(table, ParquetTable) and table.rows == 10_000
    chunks = list(table.column_chunks("tier"))
    assert len(chunks) == 10 and all(pa.types.is_dictionary(c.type) for c in chunks)
    assert _values(table, "x") == data.column("x").to_pylist()
    assert _values(table, "tier") == data.column("tier").to_pylist()


def test_globs_and_folders_read_their_files_in_order(tmp_path):
    (tmp_path / "parts").mkdir()
    for i in range(3):
        pq.write_table(pa.table({"x": [float(i)] * 5}), tmp_path / "parts" / f"p{i}.parquet")
    for name in ("parts", "parts/*.parquet"):
        table = open_table(name, base_dir=tmp_path)
        assert table.rows == 15 and _values(table, "x") == [0.0] * 5 + [1.0] * 5 + [2.0] * 5


def test_csv_is_read_with_the_data_planes_reader(tmp_path):
    (tmp_path / "d.csv").write_text("x,tier\n1,a\n2.5,b\n,c\n")
    table = open_table("d.csv", base_dir=tmp_path)
    assert isinstance(table, ArrowTable) and table.rows == 3
    assert _values(table, "x")[:2] == [1.0, 2.5] and _values(table, "tier") == ["a", "b", "c"]


def test_files_that_disagree_are_data_errors(tmp_path):
    pq.write_table(pa.table({"x": [1.0], "y": [2.0]}), tmp_path / "a.parquet")
    pq.write_table(pa.table({"x": [1.0]}), tmp_path / "b.parquet")
    pq.write_table(pa.table({"x": ["text"]}), tmp_path / "c.parquet")
    table = open_table("[ab].parquet", base_dir=tmp_path)
    with pytest.raises(DataError, match="column 'y' is missing from .*b.parquet"):
        list(table.column_chunks("y"))
    with pytest.raises(DataError, match="incompatible schemas"):
        open_table("[ac].parquet", base_dir=tmp_path)


def test_the_index_pandas_stores_as_a_column_is_not_data(tmp_path):
    import pandas as pd

    pd.DataFrame({"x": [1.0, 2.0]}, index=pd.Index([7, 9], name="id")).to_parquet(tmp_path / "d.parquet")
    assert open_table("d.parquet", base_dir=tmp_path).schema.names == ["x"]
