"""Prediction log: every served request, written off the request path to Hive-partitioned Parquet.

Layout: ``root/model=<model>/hour=<YYYY-MM-DDTHH>/part-*.parquet`` (UTC hour of each record).
One daemon thread drains a bounded queue and writes one file per (model, hour, version,
feature columns) group per flush, atomically, so a reader never sees a partial file.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import queue
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

BASE_SCHEMA = {"request_id": pa.string(), "row": pa.int32(), "timestamp": pa.timestamp("us", tz="UTC"),
               "version": pa.string(), "arm": pa.string(), "protocol": pa.string(), "latency_ms": pa.float64(),
               "prediction": pa.string(), "probabilities": pa.list_(pa.float64())}
_STOP = object()
_file_seq = itertools.count()


@dataclass(frozen=True, slots=True)
class PredictionRecord:
    """One served request: identity, routing, latency, input rows and model outputs."""

    request_id: str
    timestamp: float
    model: str
    version: str
    arm: str
    protocol: str
    latency_ms: float
    features: dict[str, list]
    outputs: dict[str, np.ndarray]


_Entry = tuple[PredictionRecord, int, tuple]


def _intake(record: PredictionRecord) -> tuple[int, tuple]:
    """Row count and file group of a record; raises when the record is malformed."""
    rows = len(record.outputs["predict"])
    proba = record.outputs.get("predict_proba")
    if (proba is not None and len(proba) != rows) or any(len(v) != rows for v in record.features.values()):
        raise ValueError(f"record {record.request_id!r}: outputs and features differ in row count")
    hour = datetime.fromtimestamp(record.timestamp, tz=timezone.utc).strftime("%Y-%m-%dT%H")
    return rows, (quote(record.model, safe=""), hour, record.version, tuple(record.features))


def _column(values: list) -> pa.Array:
    """Arrow array of the inferred type; mixed types fall back to strings."""
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else str(v) for v in values], pa.string())


def _table(records: list[PredictionRecord], feature_names: tuple[str, ...]) -> pa.Table:
    """One row per input row of each record."""
    cols: dict[str, list] = {name: [] for name in BASE_SCHEMA}
    feats: dict[str, list] = {name: [] for name in feature_names}
    for r in records:
        labels = np.asarray(r.outputs["predict"]).astype(str).tolist()
        n = len(labels)
        proba = r.outputs.get("predict_proba")
        for name, value in (("request_id", r.request_id), ("timestamp", round(r.timestamp * 1_000_000)),
                            ("version", r.version), ("arm", r.arm), ("protocol", r.protocol),
                            ("latency_ms", float(r.latency_ms))):
            cols[name] += [value] * n
        cols["row"] += range(n)
        cols["prediction"] += labels
        cols["probabilities"] += np.asarray(proba, dtype=np.float64).tolist() if proba is not None else [None] * n
        for name in feature_names:
            feats[name] += r.features[name]
    arrays = {name: pa.array(cols[name], kind) for name, kind in BASE_SCHEMA.items()}
    return pa.table(arrays | {f"feature_{name}": _column(values) for name, values in feats.items()})


class PredictionLogWriter:
    """Non-blocking prediction log: ``offer`` enqueues, one background thread writes Parquet."""

    def __init__(self, root: Path, *, max_queue: int = 10_000, flush_rows: int = 5_000, flush_interval_s: float = 1.0):
        self.root = Path(root)
        self.flush_rows = flush_rows
        self.flush_interval_s = flush_interval_s
        self.retry_cap_rows = 4 * max(flush_rows, max_queue)
        self.write_errors = self.discarded = self._dropped = self._written_rows = 0
        self._queue: queue.Queue = queue.Queue(maxsize=max_queue)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    @property
    def dropped(self) -> int:
        """Records refused by ``offer`` (queue full, or writer closed)."""
        return self._dropped

    @property
    def written_rows(self) -> int:
        """Rows written to Parquet so far."""
        return self._written_rows

    @property
    def depth(self) -> int:
        """Records waiting in the queue."""
        return self._queue.qsize()

    def start(self) -> None:
        """Start the writer thread once; a closed writer stays closed."""
        with self._lock:
            if not self._closed and self._thread is None:
                self._thread = threading.Thread(target=self._run, name="prediction-log-writer", daemon=True)
                self._thread.start()

    def offer(self, record: PredictionRecord) -> bool:
        """Enqueue without ever blocking; False, counted as dropped, when full or closed."""
        with self._lock:
            if not self._closed:
                try:
                    self._queue.put_nowait(record)
                    return True
                except queue.Full:
                    pass
            self._dropped += 1
            return False

    def flush(self, timeout_s: float = 10) -> None:
        """Block until every record offered before this call is on disk."""
        if self._closed:
            return
        if self._thread is None:
            raise RuntimeError("prediction log writer is not started")
        self._send(done := threading.Event(), timeout_s)
        if not done.wait(timeout_s):
            raise TimeoutError(f"prediction log not flushed within {timeout_s}s")

    def close(self, timeout_s: float = 30) -> None:
        """Write everything still queued, then stop the thread; later offers are dropped."""
        self.start()
        with self._lock:
            if self._closed:
                return
            self._closed = True
        deadline = time.monotonic() + timeout_s
        self._send(_STOP, timeout_s)
        self._thread.join(max(deadline - time.monotonic(), 0))
        if self._thread.is_alive():
            raise TimeoutError(f"prediction log not drained within {timeout_s}s")

    def _send(self, marker: object, timeout_s: float) -> None:
        try:
            self._queue.put(marker, timeout=timeout_s)
        except queue.Full:
            raise TimeoutError("prediction log queue stayed full") from None

    def _run(self) -> None:
        pending: list[_Entry] = []
        waiters: list[threading.Event] = []
        rows, since, retry_at, stopping = 0, 0.0, 0.0, False
        while not stopping:
            wait = max(since + self.flush_interval_s, retry_at, time.monotonic() + 0.001) - time.monotonic()
            try:
                items = [self._queue.get(timeout=wait if pending else None)]
            except queue.Empty:
                items = []
            if items and items[0] is _STOP:
                stopping, items = True, []
                while not self._queue.empty():
                    items.append(self._queue.get_nowait())
            for item in items:
                if isinstance(item, threading.Event):
                    waiters.append(item)
                    continue
                try:
                    n, key = _intake(item)
                except Exception:
                    self.discarded += 1
                    log.warning("prediction log: malformed record discarded", exc_info=True)
                    continue
                since = since if pending else time.monotonic()
                pending.append((item, n, key))
                rows += n
            now = time.monotonic()
            due = rows >= self.flush_rows or now - since >= self.flush_interval_s or waiters
            if pending and (stopping or (due and now >= retry_at)):
                pending = self._write(pending)
                rows = sum(n for _, n, _ in pending)
                if pending:
                    since, retry_at = now, now + self.flush_interval_s
            if not pending or stopping:
                for event in waiters:
                    event.set()
                waiters.clear()
        if pending:
            self.discarded += len(pending)
            log.error("prediction log: %d records lost at close after write errors", len(pending))

    def _write(self, pending: list[_Entry]) -> list[_Entry]:
        """Write one file per group; return the failed groups' records, oldest cut beyond the cap."""
        groups: dict[tuple, list[_Entry]] = defaultdict(list)
        for entry in pending:
            groups[entry[2]].append(entry)
        failed: list[_Entry] = []
        for (model, hour, _, names), members in groups.items():
            stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
            name = f"part-{stamp}-{os.getpid()}-{next(_file_seq)}.parquet"
            path = self.root / f"model={model}" / f"hour={hour}" / name
            tmp = path.with_name(path.name + ".tmp")
            try:
                table = _table([r for r, _, _ in members], names)
                path.parent.mkdir(parents=True, exist_ok=True)
                pq.write_table(table, tmp)
                os.replace(tmp, path)
                self._written_rows += table.num_rows
            except Exception:
                self.write_errors += 1
                log.exception("prediction log: writing %s failed; %d records kept for retry", path, len(members))
                with contextlib.suppress(OSError):
                    tmp.unlink(missing_ok=True)
                failed += members
        failed.sort(key=lambda entry: entry[0].timestamp)
        excess, cut = sum(n for _, n, _ in failed) - self.retry_cap_rows, 0
        while excess > 0:
            excess, cut = excess - failed[cut][1], cut + 1
        if cut:
            self.discarded += cut
            log.error("prediction log: retry buffer full, %d oldest records discarded", cut)
        return failed[cut:]


def read_predictions(root: Path, model: str | None = None) -> pd.DataFrame:
    """Every logged row (of one model, if given), ordered by timestamp, request_id, row."""
    import duckdb
    import pandas as pd

    folder = "model=*" if model is None else f"model={quote(model, safe='')}"
    if not any(Path(root).glob(f"{folder}/hour=*/*.parquet")):
        return pd.DataFrame(columns=[*BASE_SCHEMA, "model", "hour"])
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        return con.execute(
            "SELECT * FROM read_parquet(?, hive_partitioning = true, union_by_name = true,"
            " hive_types = {'model': 'VARCHAR', 'hour': 'VARCHAR'}) ORDER BY timestamp, request_id, row",
            [str(Path(root) / folder / "hour=*" / "*.parquet")]).df()
