"""Reading a pipeline's data source into a frame or just its column names, and fingerprinting its files."""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

import pandas as pd

from shipyard.data.coerce import is_datetime, is_numeric, to_datetime
from shipyard.data.columns import check_columns
from shipyard.data.files import matched_files
from shipyard.errors import DataError, SpecError
from shipyard.spec.models import CsvSource, DataSpec, DuckDBSource, ParquetSource, SqlSource

_CHUNK = 1 << 20


def read_source(data: DataSpec, base_dir: Path) -> pd.DataFrame:
    """The whole source as one frame, its timestamp column (if declared) parsed to datetime."""
    source = data.source
    base_dir = Path(base_dir)
    if isinstance(source, CsvSource):
        frame = _read_csv(source, base_dir)
    elif isinstance(source, ParquetSource):
        frame = _read_parquet(source, base_dir)
    elif isinstance(source, SqlSource):
        frame = _read_sql(source, base_dir)
    elif isinstance(source, DuckDBSource):
        frame = _read_duckdb(source, base_dir)
    else:
        raise SpecError(f"unknown data source type {type(source).__name__}",
                        hint="use one of: csv, parquet, sql, duckdb")
    frame.columns = [str(c) for c in frame.columns]
    required = [data.target] + ([data.timestamp] if data.timestamp else [])
    check_columns(required, list(frame.columns), where=f"data ({_describe(source)})",
                  fix="fix data.target / data.timestamp in the spec, or the source")
    if data.timestamp:
        frame[data.timestamp] = parse_timestamps(frame[data.timestamp])
    return frame


def source_columns(data: DataSpec, base_dir: Path) -> list[str]:
    """The source's column names without reading its rows: CSV headers, Parquet schemas, a query's result columns."""
    source = data.source
    base_dir = Path(base_dir)
    if isinstance(source, CsvSource):
        names = [name for path in matched_files(source.path, base_dir, "csv") for name in _csv_header(source, path)]
    elif isinstance(source, ParquetSource):
        names = [name for path in matched_files(source.path, base_dir, "parquet") for name in _parquet_names(path)]
    elif isinstance(source, SqlSource):
        names = _sql_columns(source, base_dir)
    elif isinstance(source, DuckDBSource):
        names = _duckdb_columns(source, base_dir)
    else:
        raise SpecError(f"unknown data source type {type(source).__name__}",
                        hint="use one of: csv, parquet, sql, duckdb")
    return list(dict.fromkeys(str(name) for name in names))


def source_files(data: DataSpec, base_dir: Path) -> list[Path]:
    """The files a csv or parquet source reads, in sorted path order; [] for queries."""
    source = data.source
    if not isinstance(source, (CsvSource, ParquetSource)):
        return []
    return matched_files(source.path, Path(base_dir), source.type)


def source_fingerprint(data: DataSpec, base_dir: Path) -> str | None:
    """SHA-256 (hex) over the relative path and bytes of every file; None for sql and duckdb."""
    files = source_files(data, base_dir)
    if not files:
        return None
    base = Path(base_dir).resolve()
    digest = hashlib.sha256()
    buffer = bytearray(_CHUNK)
    view = memoryview(buffer)
    for path in files:
        name = Path(os.path.relpath(path.resolve(), base)).as_posix().encode()
        try:
            size = path.stat().st_size
            handle = path.open("rb")
        except OSError as exc:
            raise DataError(f"cannot read data file {path}: {exc.strerror or exc}",
                            hint="check that the file exists and is readable") from None
        digest.update(len(name).to_bytes(8, "big") + name + size.to_bytes(8, "big"))
        with handle:
            while count := handle.readinto(buffer):
                digest.update(view[:count])
    return digest.hexdigest()


def parse_timestamps(column: pd.Series) -> pd.Series:
    """``column`` as datetime; a DataError names the values that are not timestamps."""
    if is_datetime(column):
        return column
    name = column.name
    if is_numeric(column) or pd.api.types.is_bool_dtype(column):
        raise DataError(f"timestamp column '{name}' holds {column.dtype} values, not timestamps",
                        hint="store it as ISO-8601 text (2024-05-31 12:00:00) or convert it in the "
                             "query (e.g. to_timestamp(epoch_seconds) in DuckDB)")
    parsed, bad = to_datetime(column)
    if bad.any():
        examples = ", ".join(repr(str(v)) for v in column[bad].drop_duplicates().head(5))
        raise DataError(f"timestamp column '{name}' has {int(bad.sum())} value(s) that are not timestamps, "
                        f"e.g. {examples}",
                        hint="fix those values in the source, or point data.timestamp at another column")
    return parsed


def _describe(source) -> str:
    if isinstance(source, (CsvSource, ParquetSource)):
        return f"{source.type} {source.path}"
    return f"{source.type} query"


def _read_csv(source: CsvSource, base_dir: Path) -> pd.DataFrame:
    return read_csv_files(matched_files(source.path, base_dir, "csv"), delimiter=source.delimiter)


def read_csv_files(paths: list[Path], *, delimiter: str = ",") -> pd.DataFrame:
    """CSV files as one frame; each is parsed whole, so a column's type is judged on all its rows."""
    frames = []
    for path in paths:
        try:
            frames.append(pd.read_csv(path, sep=delimiter, low_memory=False))
        except pd.errors.EmptyDataError:
            raise DataError(f"CSV file {path} is empty", hint="remove it or fill it with a header and rows") from None
        except (pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
            raise DataError(f"cannot parse CSV file {path}: {exc}",
                            hint="check the delimiter and the file's encoding (UTF-8)") from None
    return _concat(frames)


def _csv_header(source: CsvSource, path: Path) -> list[str]:
    try:
        return [str(c) for c in pd.read_csv(path, sep=source.delimiter, nrows=0).columns]
    except pd.errors.EmptyDataError:
        raise DataError(f"CSV file {path} is empty", hint="remove it or fill it with a header and rows") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
        raise DataError(f"cannot parse CSV file {path}: {exc}",
                        hint="check data.source.delimiter and the file's encoding (UTF-8)") from None


def _parquet_names(path: Path) -> list[str]:
    """The columns ``to_pandas`` gives: the schema's names less those pandas restores as the index."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"cannot read Parquet file {path}: {exc}",
                        hint="check that it is a Parquet file and not truncated") from None
    index = {c for c in (schema.pandas_metadata or {}).get("index_columns", []) if isinstance(c, str)}
    return [name for name in schema.names if name not in index]


def _read_parquet(source: ParquetSource, base_dir: Path) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    tables = []
    for path in matched_files(source.path, base_dir, "parquet"):
        try:
            tables.append(pq.read_table(path))
        except (pa.ArrowException, OSError) as exc:
            raise DataError(f"cannot read Parquet file {path}: {exc}",
                            hint="check that it is a Parquet file and not truncated") from None
    if len(tables) == 1:
        return tables[0].to_pandas()
    try:
        table = pa.concat_tables(tables, promote_options="permissive")
    except pa.ArrowException as exc:
        raise DataError(f"the Parquet files of '{source.path}' have incompatible schemas: {exc}",
                        hint="make the column types agree across files, or read them with a duckdb query") from None
    return table.to_pandas()


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    if len(frames) == 1:
        return frames[0]
    return pd.concat(frames, ignore_index=True)


def _read_sql(source: SqlSource, base_dir: Path) -> pd.DataFrame:
    import sqlalchemy as sa

    with _sql_connection(source, base_dir) as connection:
        return pd.read_sql(sa.text(source.query), connection)


def _sql_columns(source: SqlSource, base_dir: Path) -> list[str]:
    """The query's result columns, from the query wrapped in a zero-row select.

    A statement that cannot be wrapped (a PRAGMA, a procedure call) runs as it is on a
    streaming cursor, of which only the column names are read.
    """
    import sqlalchemy as sa
    from sqlalchemy import exc as sa_exc

    query = source.query.strip().rstrip(";")
    empty = sa.select(sa.text("*")).select_from(sa.text(f"({query}\n) AS shipyard_columns")).limit(0)
    with _sql_connection(source, base_dir) as connection:
        try:
            return list(connection.execute(empty).keys())
        except sa_exc.SQLAlchemyError:
            connection.rollback()
        result = connection.execution_options(stream_results=True).execute(sa.text(source.query))
        try:
            return list(result.keys())
        finally:
            result.close()


@contextlib.contextmanager
def _sql_connection(source: SqlSource, base_dir: Path):
    import sqlalchemy as sa
    from sqlalchemy import exc as sa_exc

    try:
        url = sa.engine.make_url(source.url)
    except sa_exc.ArgumentError as exc:
        raise SpecError(f"data.source.url is not a SQLAlchemy URL: {exc}",
                        hint="write it like postgresql+psycopg://user@host/db or sqlite:///data/file.db") from None
    url = _sqlite_relative_to(url, base_dir)
    shown = url.render_as_string(hide_password=True)
    try:
        engine = sa.create_engine(url)
    except (sa_exc.ArgumentError, sa_exc.NoSuchModuleError, ImportError) as exc:
        raise SpecError(f"cannot use database URL {shown}: {exc}",
                        hint="check the dialect and driver (e.g. postgresql+psycopg) and that the driver "
                             "is installed") from None
    try:
        with engine.connect() as connection:
            yield connection
    except (sa_exc.SQLAlchemyError, pd.errors.DatabaseError) as exc:
        cause = exc.__cause__ if isinstance(exc.__cause__, sa_exc.SQLAlchemyError) else exc
        detail = str(getattr(cause, "orig", None) or cause).strip().splitlines()[0]
        raise DataError(f"the SQL query against {shown} failed: {detail}",
                        hint="check data.source.query and that the database is reachable") from None
    finally:
        engine.dispose()


def _sqlite_relative_to(url, base_dir: Path):
    if url.get_backend_name() != "sqlite":
        return url
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return url
    path = base_dir / os.path.expanduser(database)
    if not path.is_file():
        raise DataError(f"SQLite database {path} does not exist",
                        hint="a relative SQLite path is resolved against the spec file's folder; fix data.source.url")
    return url.set(database=str(path))


def read_query_arrow(source: SqlSource | DuckDBSource, base_dir: Path):
    """A query's result as a ``pyarrow.Table``: DuckDB's directly, a SQLAlchemy query's through pandas."""
    import pyarrow as pa

    if isinstance(source, SqlSource):
        return frame_to_arrow(_read_sql(source, base_dir))
    with _duckdb_connection(source, base_dir) as connection:
        relation = connection.sql(source.query)
        if relation is None:
            raise DataError("the DuckDB statement returns no rows", hint="write a query, e.g. SELECT * FROM t")
        table = relation.to_arrow_table()
    return table if isinstance(table, pa.Table) else pa.Table.from_batches(table)


def frame_to_arrow(frame: pd.DataFrame):
    """``frame`` as a ``pyarrow.Table``; an object column of mixed Python types becomes text."""
    import pyarrow as pa

    frame = frame.rename(columns=str)
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        mixed = {name: frame[name].astype("string") for name in frame.columns if frame[name].dtype == object}
        return pa.Table.from_pandas(frame.assign(**mixed), preserve_index=False)


def _read_duckdb(source: DuckDBSource, base_dir: Path) -> pd.DataFrame:
    with _duckdb_connection(source, base_dir) as connection:
        return connection.execute(source.query).df()


def _duckdb_columns(source: DuckDBSource, base_dir: Path) -> list[str]:
    """The query's result columns, from DuckDB's DESCRIBE (which plans the query but reads no rows)."""
    with _duckdb_connection(source, base_dir) as connection:
        query = source.query.strip().rstrip(";")
        return [row[0] for row in connection.execute(f"DESCRIBE {query}").fetchall()]


@contextlib.contextmanager
def _duckdb_connection(source: DuckDBSource, base_dir: Path):
    import duckdb

    database = ":memory:"
    if source.database:
        path = base_dir / os.path.expanduser(source.database)
        if not path.is_file():
            raise DataError(f"DuckDB database {path} does not exist",
                            hint="data.source.database is relative to the spec file's folder; fix the path")
        database = str(path)
    try:
        connection = duckdb.connect(database, read_only=database != ":memory:")
    except duckdb.Error as exc:
        raise DataError(f"cannot open DuckDB database {database}: {exc}",
                        hint="check that it is a DuckDB file and that no other process holds it for writing") from None
    try:
        connection.execute("SET file_search_path = ?", [str(base_dir.resolve())])
        yield connection
    except duckdb.Error as exc:
        raise DataError(f"the DuckDB query failed: {exc}",
                        hint=f"relative file paths in the query resolve against {base_dir.resolve()}; "
                             "check data.source.query") from None
    finally:
        connection.close()
