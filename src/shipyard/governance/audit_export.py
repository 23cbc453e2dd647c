"""Archive audit events to Parquet or JSON Lines, every field and hash kept so the archive verifies alone.

An export always starts at the oldest event the database holds and is itself recorded in the log
(``audit_exported``: the range, where the file went and its SHA-256), which is what pruning checks.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from shipyard.config import Settings, load_settings
from shipyard.errors import UsageError
from shipyard.governance.audit import Event, append_event, read_events
from shipyard.governance.identity import current_actor, current_identity
from shipyard.governance.policy import authorize
from shipyard.store.object_folder import ObjectFolder

FORMATS = ("parquet", "jsonl")
EXPORTED = "audit_exported"


@dataclass(frozen=True, kw_only=True)
class Export:
    location: str
    first_seq: int
    last_seq: int
    events: int
    sha256: str
    format: str


def export_events(out: str, *, format: str = "parquet", before: datetime | None = None,
                  settings: Settings | None = None) -> Export | None:
    """Write every event older than ``before`` (default: all) to ``out`` (a folder path or fsspec URL);
    None when there is no such event."""
    if format not in FORMATS:
        raise UsageError(f"--format {format} is not an export format; use {' or '.join(FORMATS)}",
                         hint="parquet for analysis tools, jsonl for plain-text archives")
    settings = settings or load_settings()
    authorize(current_identity(), "audit.manage", team=None)
    events = [e for e in read_events(settings=settings) if before is None or e.time < before]
    cut = next((i for i, e in enumerate(events) if i and e.seq != events[i - 1].seq + 1), len(events))
    events = events[:cut]
    if not events:
        return None
    data = _parquet(events) if format == "parquet" else _jsonl(events)
    name = f"audit-{events[0].seq:012d}-{events[-1].seq:012d}.{format}"
    folder = ObjectFolder(out)
    location = folder.write(name, data)
    export = Export(location=location, first_seq=events[0].seq, last_seq=events[-1].seq, events=len(events),
                    sha256=hashlib.sha256(data).hexdigest(), format=format)
    append_event(actor=current_actor(), action=EXPORTED, settings=settings,
                 reason=f"events {export.first_seq} to {export.last_seq} exported to {location}",
                 details={"first_seq": export.first_seq, "last_seq": export.last_seq, "folder": out, "name": name,
                          "sha256": export.sha256, "format": format, "last_hash": events[-1].hash})
    return export


def record(event: Event) -> dict[str, Any]:
    """One event as an archive row (``details`` as JSON text, so every row has the same columns)."""
    return {"seq": event.seq, "time": event.time.astimezone(timezone.utc), "actor": event.actor,
            "action": event.action, "model": event.model, "version": event.version,
            "from_state": event.from_state, "to_state": event.to_state, "reason": event.reason,
            "details": json.dumps(event.details, sort_keys=True), "authenticated": event.authenticated,
            "prev_hash": event.prev_hash, "hash": event.hash}


def _parquet(events: list[Event]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    text = pa.string()
    schema = pa.schema([("seq", pa.int64()), ("time", pa.timestamp("us", tz="UTC")), ("actor", text),
                        ("action", text), ("model", text), ("version", text), ("from_state", text),
                        ("to_state", text), ("reason", text), ("details", text), ("authenticated", pa.bool_()),
                        ("prev_hash", text), ("hash", text)])
    table = pa.Table.from_pylist([record(e) for e in events], schema=schema)
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def _jsonl(events: list[Event]) -> bytes:
    lines = (json.dumps({**record(e), "time": record(e)["time"].isoformat(timespec="microseconds")},
                        sort_keys=True) for e in events)
    return ("\n".join(lines) + "\n").encode()


def read_export(data: bytes, format: str) -> list[dict[str, Any]]:
    """The rows of an export, ``time`` as an aware datetime, ``details`` as a dict."""
    if format == "parquet":
        import pyarrow.parquet as pq

        rows = pq.read_table(io.BytesIO(data)).to_pylist()
    else:
        rows = [json.loads(line) for line in data.decode().splitlines() if line.strip()]
        for row in rows:
            row["time"] = datetime.fromisoformat(row["time"])
    for row in rows:
        row["details"] = json.loads(row["details"])
    return rows
