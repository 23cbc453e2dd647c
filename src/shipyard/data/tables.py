"""A data set named on the command line, read as Arrow: files, a glob, a folder, or a query.

``shipyard drift`` and :func:`shipyard.data_drift` take such a name. Parquet is read
lazily — one column of one row group at a time — so a file of any length never sits
whole in memory. CSV files and query results are read whole with the data plane's
readers (pandas for CSV and SQLAlchemy, DuckDB's own Arrow output) and then served
from memory the same way.

Names: a path, glob or folder of ``.parquet``/``.pq`` or ``.csv``/``.tsv`` files;
``duckdb:QUERY`` (in an in-memory DuckDB, or in the DuckDB file ``duckdb_database``);
``sql:QUERY`` (against the SQLAlchemy URL ``database``). Relative paths resolve against
``base_dir``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from shipyard.data.files import SUFFIXES, has_glob, matched_files
from shipyard.errors import DataError, UsageError

QUERY_PREFIXES = ("duckdb:", "sql:")
BATCH_ROWS = 1 << 16
_BASE = "the current folder"


class ParquetTable:
    """Parquet files read lazily, one column of one row group at a time.

    Every read opens its own handle, so that columns can be read from several threads at once.
    """

    def __init__(self, paths: list[Path], description: str):
        self.description = description
        self._files: list[tuple[Path, list[str], list[str]]] = []  # path, columns, text columns
        schemas, self.rows = [], 0
        for path in paths:
            metadata = _read(path, lambda: pq.read_metadata(path))
            schema = _without_pandas_index(_read(path, metadata.schema.to_arrow_schema))
            text = [field.name for field in schema
                    if pa.types.is_string(field.type) or pa.types.is_large_string(field.type)]
            self._files.append((path, schema.names, text))
            schemas.append(schema)
            self.rows += metadata.num_rows
        try:
            self.schema = pa.unify_schemas(schemas, promote_options="permissive")
        except pa.ArrowException as exc:
            raise DataError(f"the Parquet files of {description} have incompatible schemas: {exc}",
                            hint="make the column types agree across files") from None

    def column_chunks(self, name: str) -> Iterator[pa.Array]:
        """The column's values, one row group of one file at a time."""
        for path, names, text in self._files:
            if name not in names:
                raise DataError(f"column '{name}' is missing from {path}, one of the files of {self.description}",
                                hint="make every file hold the same columns, or pick columns with --columns")
            # text read dictionary-encoded: each distinct value is decoded once, not once a row
            handle = _read(path, lambda: pq.ParquetFile(path, read_dictionary=[name] if name in text else None))
            for group in range(handle.num_row_groups):
                values = _read(path, lambda: handle.read_row_group(group, columns=[name]).column(0))
                yield from values.chunks


class ArrowTable:
    """A table already in memory (CSV files, a query's result)."""

    def __init__(self, table: pa.Table, description: str):
        self.description = description
        self.schema = table.schema
        self.rows = table.num_rows
        self._table = table

    def column_chunks(self, name: str) -> Iterator[pa.Array]:
        for chunk in self._table.column(name).chunks:
            for start in range(0, len(chunk), BATCH_ROWS):
                yield chunk.slice(start, BATCH_ROWS)


Table = ParquetTable | ArrowTable


def open_table(name: str | Path | pa.Table, *, base_dir: Path | None = None, database: str | None = None,
               duckdb_database: str | None = None) -> Table:
    """The data set ``name`` stands for (see the module's docstring), ready to be read."""
    if isinstance(name, pa.Table):
        return ArrowTable(name, "an in-memory table")
    base_dir = Path(base_dir or Path.cwd())
    text = str(name)
    prefix = next((p for p in QUERY_PREFIXES if isinstance(name, str) and text.startswith(p)), None)
    if prefix:
        return _query(prefix, text[len(prefix):].strip(), base_dir, database if prefix == "sql:" else duckdb_database)
    kind = _file_kind(text, base_dir)
    paths = matched_files(text, base_dir, kind, base_name=_BASE)
    if kind == "parquet":
        return ParquetTable(paths, text)
    from shipyard.data.sources import frame_to_arrow, read_csv_files  # pandas, for CSV only

    delimiter = "\t" if all(p.name.endswith(".tsv") for p in paths) else ","
    return ArrowTable(frame_to_arrow(read_csv_files(paths, delimiter=delimiter)), text)


def _query(prefix: str, query: str, base_dir: Path, database: str | None) -> ArrowTable:
    from shipyard.data.sources import read_query_arrow  # pandas, SQLAlchemy, DuckDB: for queries only
    from shipyard.spec.models import DuckDBSource, SqlSource

    if not query:
        raise UsageError(f"'{prefix}' names no query", hint=f"write it as {prefix}SELECT … FROM …")
    if prefix == "sql:":
        if not database:
            raise UsageError("a sql: query needs the database it runs against",
                             hint="give its SQLAlchemy URL with --database, e.g. "
                                  "--database postgresql+psycopg://user@host/db or sqlite:///file.db")
        source = SqlSource(type="sql", url=database, query=query)
    else:
        source = DuckDBSource(type="duckdb", query=query, database=database)
    return ArrowTable(read_query_arrow(source, base_dir), f"{prefix}{_shorten(query)}")


def _file_kind(text: str, base_dir: Path) -> str:
    name = text.lower().rstrip("/")
    for kind, suffixes in SUFFIXES.items():
        if name.endswith(suffixes):
            return kind
    folder = base_dir / text
    if not has_glob(text) and folder.is_dir():
        for kind, suffixes in SUFFIXES.items():
            if any(p.name.endswith(suffixes) for p in folder.rglob("*") if p.is_file()):
                return kind
    if not has_glob(text) and not folder.exists():
        raise DataError(f"data file {folder} does not exist",
                        hint=f"paths are relative to {_BASE} ({base_dir}); for a query write duckdb:QUERY "
                             "or sql:QUERY")
    raise UsageError(f"cannot tell the format of '{text}'",
                     hint="name .parquet/.pq or .csv/.tsv files (a file, a glob or a folder of them), "
                          "or a query: duckdb:QUERY, sql:QUERY with --database URL")


def _without_pandas_index(schema: pa.Schema) -> pa.Schema:
    """The schema of the columns pandas wrote, without its index; a column that was a pandas categorical
    is dictionary-typed again (Parquet keeps only its values' type), so that it is read as categories."""
    pandas = schema.pandas_metadata or {}
    index = {c for c in pandas.get("index_columns", []) if isinstance(c, str)}
    for name in index & set(schema.names):
        schema = schema.remove(schema.get_field_index(name))
    for column in pandas.get("columns", []):
        name = column.get("field_name")
        if column.get("pandas_type") == "categorical" and name in schema.names:
            position = schema.get_field_index(name)
            field = schema.field(position)
            if not pa.types.is_dictionary(field.type):
                schema = schema.set(position, field.with_type(pa.dictionary(pa.int32(), field.type)))
    return schema.remove_metadata()


def _read(path: Path, read):
    try:
        return read()
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"cannot read Parquet file {path}: {exc}",
                        hint="check that it is a Parquet file and not truncated") from None


def _shorten(query: str, limit: int = 60) -> str:
    query = " ".join(query.split())
    return query if len(query) <= limit else query[:limit - 1] + "…"
