"""What the gateways served, counted from the prediction log: the usage serving cost is charged on."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from urllib.parse import unquote


def served_requests(root: Path, *, since: datetime, until: datetime) -> dict[str, dict[str, int]]:
    """Per model, per day (``YYYY-MM-DD``, UTC): requests answered in ``[since, until)``.

    A request mirrored to a shadow version counts once per version that answered it: each used the gateway.
    """
    import duckdb

    if not any(Path(root).glob("model=*/hour=*/*.parquet")):
        return {}
    counts: dict[str, dict[str, int]] = {}
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        rows = con.execute(
            "SELECT model, strftime(timestamp, '%Y-%m-%d') AS day, count(DISTINCT (request_id, version))"
            " FROM read_parquet(?, hive_partitioning = true, union_by_name = true,"
            " hive_types = {'model': 'VARCHAR', 'hour': 'VARCHAR'})"
            " WHERE timestamp >= ? AND timestamp < ? GROUP BY model, day",
            [str(Path(root) / "model=*" / "hour=*" / "*.parquet"), since, until]).fetchall()
    for model, day, count in rows:
        counts.setdefault(unquote(model), {})[day] = int(count)
    return counts
