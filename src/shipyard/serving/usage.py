"""What the gateways served, counted from the prediction log: the usage serving cost is charged on."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from urllib.parse import unquote


def served_requests(root: Path | str, *, since: datetime, until: datetime) -> dict[str, dict[str, int]]:
    """Per model, per day (``YYYY-MM-DD``, UTC): requests answered in ``[since, until)``.

    A request mirrored to a shadow version counts once per version that answered it: each used the gateway.
    """
    import duckdb

    from shipyard.store import object_files

    root = object_files.location(root)
    files = object_files.glob(root, "model=*/hour=*/*.parquet")
    if not files:
        return {}
    counts: dict[str, dict[str, int]] = {}
    query = ("SELECT model, strftime(timestamp, '%Y-%m-%d') AS day, count(DISTINCT (request_id, version))"
             " FROM {source} WHERE timestamp >= ? AND timestamp < ? GROUP BY model, day")
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        if isinstance(root, str):  # object storage: the files fetched whole, then queried
            import pyarrow as pa
            import pyarrow.parquet as pq

            pieces = [(f, pq.read_table(pa.BufferReader(object_files.read_bytes(f)))) for f in files]
            logged = object_files.hive_table(pieces, root)  # noqa: F841 (DuckDB reads it by name)
            rows = con.execute(query.format(source="logged"), [since, until]).fetchall()
        else:
            rows = con.execute(query.format(source="read_parquet(?, hive_partitioning = true, union_by_name = true,"
                                                   " hive_types = {'model': 'VARCHAR', 'hour': 'VARCHAR'})"),
                               [str(Path(root) / "model=*" / "hour=*" / "*.parquet"), since, until]).fetchall()
    for model, day, count in rows:
        counts.setdefault(unquote(model), {})[day] = int(count)
    return counts
