"""Reading one model's logged predictions for a time window, file by file.

Hour partitions outside the window are never opened; each file's footer is checked
first, so a corrupted or half-copied file is reported and skipped instead of hiding
every other file's rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

import pandas as pd

FEATURE_PREFIX = "feature_"


@dataclass
class LoggedWindow:
    frame: pd.DataFrame
    files: int
    skipped: list[dict[str, str]] = field(default_factory=list)

    def features(self) -> pd.DataFrame:
        columns = [c for c in self.frame.columns if c.startswith(FEATURE_PREFIX)]
        return self.frame[columns].rename(columns=lambda c: c[len(FEATURE_PREFIX):])


def _hour(file: Path | str) -> datetime | None:
    folder = str(file).replace("\\", "/").rsplit("/", 2)[-2]
    try:
        return datetime.strptime(folder.partition("=")[2], "%Y-%m-%dT%H").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def read_window(root: Path | str, model: str, *, start: datetime, end: datetime, version: str | None = None,
                arms: tuple[str, ...] | None = None) -> LoggedWindow:
    """``root`` is a local folder or an object-store URL (its files are fetched whole, then queried)."""
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    from shipyard.store import object_files

    root = object_files.location(root)
    remote = isinstance(root, str)
    files, skipped, tables = [], [], []
    for path in object_files.glob(root, f"model={quote(model, safe='')}/hour=*/*.parquet"):
        hour = _hour(path)
        if hour is None or hour + timedelta(hours=1) <= start or hour >= end:
            continue
        try:
            if remote:
                tables.append((path, pq.read_table(pa.BufferReader(object_files.read_bytes(path)))))
            else:
                pq.read_metadata(path)
        except Exception as exc:
            skipped.append({"file": str(path), "reason": f"{type(exc).__name__}: {exc}"})
            continue
        files.append(str(path))
    if not files:
        return LoggedWindow(frame=pd.DataFrame(), files=0, skipped=skipped)
    filters, parameters = ["timestamp >= ?", "timestamp < ?"], [start, end]
    if version is not None:
        filters.append("version = ?")
        parameters.append(str(version))
    if arms:
        filters.append(f"arm IN ({', '.join('?' for _ in arms)})")
        parameters += list(arms)
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        if remote:
            logged = object_files.hive_table(tables, root)  # noqa: F841 (DuckDB reads it by name)
            frame = con.execute(f"SELECT * FROM logged WHERE {' AND '.join(filters)}", parameters).df()
        else:
            frame = con.execute(f"SELECT * FROM read_parquet(?, union_by_name = true) WHERE {' AND '.join(filters)}",
                                [files, *parameters]).df()
    return LoggedWindow(frame=frame, files=len(files), skipped=skipped)
