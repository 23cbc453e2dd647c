"""Prediction log: every served request, written off the request path to Hive-partitioned Parquet.

Layout: ``root/model=<model>/hour=<YYYY-MM-DDTHH>/part-*.parquet`` (UTC hour of each record).
One daemon thread drains a bounded buffer and writes one file per (model, hour, version,
feature columns) group per flush, atomically, so a reader never sees a partial file.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import logging
import os
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator
from urllib.parse import quote

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from shipyard.store import object_files

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

BASE_SCHEMA = {"request_id": pa.string(), "row": pa.int32(), "timestamp": pa.timestamp("us", tz="UTC"),
               "version": pa.string(), "arm": pa.string(), "protocol": pa.string(), "latency_ms": pa.float64(),
               "prediction": pa.string(), "probabilities": pa.list_(pa.float64())}
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


CONVERT_EVERY_S = 0.05


def file_group(record: PredictionRecord) -> tuple[int, tuple]:
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


def let_requests_run() -> None:
    """Release the GIL for a moment: a thread waiting for it (the request path) takes it now, rather than after
    the interpreter's switch interval (5 ms). The writer calls this between short pieces of its work."""
    time.sleep(0)


def records_table(records: list[PredictionRecord], feature_names: tuple[str, ...],
                  pause: Callable[[], None] = lambda: None) -> pa.Table:
    """One row per input row of each record, built column-wise; ``pause`` is called between columns."""
    arrays = {}
    for name, array in _columns(records, feature_names):
        arrays[name] = array
        pause()
    return pa.table(arrays)


def _columns(records: list[PredictionRecord], feature_names: tuple[str, ...]) -> Iterator[tuple[str, pa.Array]]:
    counts = np.fromiter((len(r.outputs["predict"]) for r in records), dtype=np.int64, count=len(records))
    total = int(counts.sum())

    def repeated(values: list, kind: pa.DataType | None = None, dtype=object) -> pa.Array:
        return pa.array(np.repeat(np.array(values, dtype=dtype), counts), kind)

    yield "request_id", repeated([r.request_id for r in records], pa.string())
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    yield "row", pa.array((np.arange(total) - starts).astype(np.int32))
    yield "timestamp", repeated([round(r.timestamp * 1_000_000) for r in records], BASE_SCHEMA["timestamp"],
                                np.int64)
    yield "version", repeated([r.version for r in records], pa.string())
    yield "arm", repeated([r.arm for r in records], pa.string())
    yield "protocol", repeated([r.protocol for r in records], pa.string())
    yield "latency_ms", repeated([r.latency_ms for r in records], dtype=np.float64)
    labels = np.concatenate([np.asarray(r.outputs["predict"]) for r in records]).astype(str)
    yield "prediction", pa.array(labels, pa.string())
    probas = [r.outputs.get("predict_proba") for r in records]
    if all(p is not None for p in probas) and len({np.shape(p)[1] for p in probas}) == 1:
        flat = np.concatenate([np.asarray(p, dtype=np.float64) for p in probas])
        width = flat.shape[1]
        yield "probabilities", pa.ListArray.from_arrays(
            pa.array(np.arange(0, total * width + 1, width, dtype=np.int32)), pa.array(flat.reshape(-1)))
    else:
        yield "probabilities", pa.array(
            [None if p is None else list(row) for p, n in zip(probas, counts)
             for row in (np.asarray(p, dtype=np.float64).tolist() if p is not None else [None] * n)],
            BASE_SCHEMA["probabilities"])
    for name in feature_names:
        yield f"feature_{name}", _column(list(itertools.chain.from_iterable(r.features[name] for r in records)))


def group_path(root: Path | str, key: tuple, name: str) -> Path | str:
    """The file ``name`` in the partition of a file group (see ``file_group``); a URL under a URL root."""
    model, hour, _, _ = key
    return object_files.join(root, f"model={model}", f"hour={hour}", name)


def write_atomically(table: pa.Table, path: Path | str, *, sync: bool = False) -> None:
    """Write through a temporary name and rename, so a reader never sees a partial file;
    ``sync`` also flushes the file and its folder to the disk before returning.
    An object-store URL gets the whole file in one request (objects appear whole by themselves)."""
    if not isinstance(path, Path):
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        object_files.write_bytes(path, sink.getvalue().to_pybytes())
        return
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, tmp)
        if sync:
            _fsync(tmp)
        os.replace(tmp, path)
        if sync:
            _fsync(path.parent)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class WriterThread:
    """``flush`` and ``close`` of a log whose records one background thread writes.

    The writer sets ``_waiters``' events once everything offered before them is written,
    and ends its loop once ``_stopping`` is set and nothing is left; ``start`` starts it once.
    """

    _what = "prediction log"
    _closed: bool
    _stopping: bool
    _thread: threading.Thread | None
    _lock: threading.Lock
    _wake: threading.Event
    _waiters: list[threading.Event]
    _written_rows: int

    @property
    def written_rows(self) -> int:
        """Rows written to Parquet so far."""
        return self._written_rows

    def flush(self, timeout_s: float = 10) -> None:
        """Block until every record offered before this call is in the Parquet log."""
        if self._closed:
            return
        if self._thread is None:
            raise RuntimeError(f"{self._what} writer is not started")
        done = threading.Event()
        with self._lock:
            self._waiters.append(done)
        self._wake.set()
        if not done.wait(timeout_s):
            raise TimeoutError(f"{self._what} not flushed within {timeout_s}s")

    def close(self, timeout_s: float = 30) -> None:
        """Write everything offered, then stop the thread; later offers are refused."""
        self.start()
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            raise TimeoutError(f"{self._what} not drained within {timeout_s}s")


class PredictionLogWriter(WriterThread):
    """Non-blocking prediction log: ``offer`` enqueues, one background thread writes Parquet."""

    def __init__(self, root: Path | str, *, max_queue: int = 10_000, flush_rows: int = 5_000,
                 flush_interval_s: float = 1.0,
                 observers: list[Callable[[list[PredictionRecord]], None]] | None = None):
        self.root = object_files.location(root)
        self.observers = list(observers or [])
        self.max_queue = max_queue
        self.flush_rows = flush_rows
        self.flush_interval_s = flush_interval_s
        self.retry_cap_rows = 4 * max(flush_rows, max_queue)
        self.write_errors = self.discarded = self._dropped = self._written_rows = 0
        # a deque and a timed wake-up rather than a queue.Queue: offering a record must not wake the
        # writer thread (and contend for the GIL) once per request
        self._buffer: collections.deque[PredictionRecord] = collections.deque()
        self._waiters: list[threading.Event] = []
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = self._stopping = False

    @property
    def dropped(self) -> int:
        """Records refused by ``offer`` (buffer full, or writer closed)."""
        return self._dropped

    @property
    def depth(self) -> int:
        """Records waiting to be written."""
        return len(self._buffer)

    def start(self) -> None:
        """Start the writer thread once; a closed writer stays closed."""
        with self._lock:
            if not self._closed and self._thread is None:
                self._thread = threading.Thread(target=self._run, name="prediction-log-writer", daemon=True)
                self._thread.start()

    def offer(self, record: PredictionRecord) -> bool:
        """Buffer without ever blocking; False, counted as dropped, when full or closed."""
        buffered = len(self._buffer)
        if self._closed or buffered >= self.max_queue:
            self._dropped += 1
            return False
        self._buffer.append(record)
        if buffered + 1 == self.flush_rows:
            self._wake.set()
        return True


    def _drain(self) -> list[PredictionRecord]:
        items = []
        try:
            while True:
                items.append(self._buffer.popleft())
        except IndexError:
            return items

    def _run(self) -> None:
        # Records are converted to Arrow a few at a time as they arrive (short GIL holds that never
        # stall the request path for long); a flush only concatenates and writes.
        pending: dict[tuple, list[pa.Table]] = defaultdict(list)
        waiting: list[threading.Event] = []
        rows, since, retry_at = 0, 0.0, 0.0
        while True:
            self._wake.wait(min(self.flush_interval_s, CONVERT_EVERY_S))
            self._wake.clear()
            stopping = self._stopping
            with self._lock:
                waiting += self._waiters
                self._waiters.clear()
            added = self._convert(self._drain(), pending)
            if added and not rows:
                since = time.monotonic()
            rows += added
            now = time.monotonic()
            due = rows >= self.flush_rows or (rows and now - since >= self.flush_interval_s) or waiting
            if rows and (stopping or (due and now >= retry_at)):
                pending = self._write(pending)
                rows = sum(t.num_rows for tables in pending.values() for t in tables)
                if rows:
                    since, retry_at = now, now + self.flush_interval_s
            if not rows or stopping:
                for event in waiting:
                    event.set()
                waiting.clear()
            if stopping:
                break
        if rows:
            self.discarded += rows
            log.error("prediction log: %d rows lost at close after write errors", rows)

    def _convert(self, records: list[PredictionRecord], pending: dict[tuple, list[pa.Table]]) -> int:
        groups: dict[tuple, list[PredictionRecord]] = defaultdict(list)
        for record in records:
            try:
                groups[file_group(record)[1]].append(record)
            except Exception:
                self.discarded += 1
                log.warning("prediction log: malformed record discarded", exc_info=True)
        for observer in self.observers:
            try:
                observer([r for members in groups.values() for r in members])
            except Exception:
                log.exception("prediction log: an observer failed; the records are still written")
            let_requests_run()
        added = 0
        for key, members in groups.items():
            try:
                table = records_table(members, key[3], pause=let_requests_run)
            except Exception:
                self.discarded += len(members)
                log.exception("prediction log: %d records could not be converted and were discarded", len(members))
                continue
            pending[key].append(table)
            added += table.num_rows
        return added

    def _write(self, pending: dict[tuple, list[pa.Table]]) -> dict[tuple, list[pa.Table]]:
        """Write one file per group; return the failed groups, oldest rows cut beyond the cap."""
        failed: dict[tuple, list[pa.Table]] = defaultdict(list)
        for key, tables in pending.items():
            stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
            path = group_path(self.root, key, f"part-{stamp}-{os.getpid()}-{next(_file_seq)}.parquet")
            let_requests_run()
            try:
                table = pa.concat_tables(tables, promote_options="permissive") if len(tables) > 1 else tables[0]
                write_atomically(table, path)
                self._written_rows += table.num_rows
            except Exception:
                self.write_errors += 1
                log.exception("prediction log: writing %s failed; its rows are kept for retry", path)
                failed[key] = tables
        kept = sum(t.num_rows for tables in failed.values() for t in tables)
        for key in sorted(failed, key=lambda k: k[1]):  # oldest hours go first
            while kept > self.retry_cap_rows and failed[key]:
                cut = failed[key].pop(0)
                kept -= cut.num_rows
                self.discarded += cut.num_rows
                log.error("prediction log: retry buffer full, %d oldest rows discarded", cut.num_rows)
        return defaultdict(list, {k: v for k, v in failed.items() if v})


def read_predictions(root: Path | str, model: str | None = None) -> pd.DataFrame:
    """Every logged row (of one model, if given), ordered by timestamp, request_id, row."""
    import duckdb
    import pandas as pd

    root = object_files.location(root)
    folder = "model=*" if model is None else f"model={quote(model, safe='')}"
    files = object_files.glob(root, f"{folder}/hour=*/*.parquet")
    if not files:
        return pd.DataFrame(columns=[*BASE_SCHEMA, "model", "hour"])
    if isinstance(root, str):
        pieces = [(f, pq.read_table(pa.BufferReader(object_files.read_bytes(f)))) for f in files]
        logged = object_files.hive_table(pieces, root)  # noqa: F841 (read by DuckDB by name)
        with duckdb.connect() as con:
            con.execute("SET TimeZone = 'UTC'")
            return con.execute("SELECT * FROM logged ORDER BY timestamp, request_id, row").df()
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        return con.execute(
            "SELECT * FROM read_parquet(?, hive_partitioning = true, union_by_name = true,"
            " hive_types = {'model': 'VARCHAR', 'hour': 'VARCHAR'}) ORDER BY timestamp, request_id, row",
            [str(Path(root) / folder / "hour=*" / "*.parquet")]).df()
