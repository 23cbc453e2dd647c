"""Durable prediction log: each answered prediction is appended to a local spool before it is answered.

A gateway owns ``<spool>/<owner>.lock`` (an exclusive ``flock`` held while it lives, released by
the kernel when it dies, even by ``kill -9``) and appends one JSON line per prediction, with one
``write()`` (and, in ``fsync`` mode, one ``fsync``), to its current segment
``<owner>.<seq>.jsonl``. Its writer thread closes the segment every flush interval and turns it
into Parquet files of the prediction log, then deletes it.

The Parquet files of a segment have names derived from the segment and the file group, so
converting a segment a second time — after a crash between writing its files and deleting it —
finds its files already there and writes nothing: a prediction reaches the log exactly once.
A gateway starting up converts the segments of every owner whose lock is free (see
:func:`replay_spool`).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import socket
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from shipyard.serving.prediction_log import (PredictionRecord, WriterThread, file_group, group_path, let_requests_run,
                                             records_table, write_atomically)
from shipyard.store import object_files

log = logging.getLogger(__name__)
_SEGMENT = re.compile(r"^(?P<owner>.+)\.(?P<seq>\d{8})\.jsonl$")


def encode(record: PredictionRecord) -> bytes:
    """One compact JSON line: what the request path writes."""
    outputs = {name: value.tolist() if hasattr(value, "tolist") else value for name, value in record.outputs.items()}
    return (json.dumps({"i": record.request_id, "t": record.timestamp, "m": record.model, "v": record.version,
                        "a": record.arm, "p": record.protocol, "l": record.latency_ms, "f": record.features,
                        "o": outputs}, separators=(",", ":"), default=_plain) + "\n").encode()


def _plain(value):
    return value.tolist() if hasattr(value, "tolist") else str(value)


def decode(line: bytes) -> PredictionRecord:
    item = json.loads(line)
    return PredictionRecord(request_id=item["i"], timestamp=item["t"], model=item["m"], version=item["v"],
                            arm=item["a"], protocol=item["p"], latency_ms=item["l"], features=item["f"],
                            outputs={name: np.asarray(value) for name, value in item["o"].items()})


@dataclass
class SegmentResult:
    """Converting one segment: ``complete`` when every file group is in the log and the segment is deleted."""

    records: int = 0
    written_rows: int = 0
    discarded: int = 0
    complete: bool = True


def read_segment(path: Path) -> tuple[list[PredictionRecord], int]:
    """The records of a segment and how many lines were unreadable.

    A last line without its newline is a write the gateway died in, before it answered: it is
    not counted as lost.
    """
    if not path.is_file():  # e.g. a link to a device: what it reads is not what the gateway wrote
        log.error("prediction spool: %s is not a regular file; it holds no predictions and is skipped", path)
        return [], 0
    data = path.read_bytes()
    lines = data.split(b"\n")
    lines.pop()  # the text after the last newline: empty, or a torn write
    records, bad = [], 0
    for number, line in enumerate(lines, 1):
        try:
            records.append(decode(line))
        except (ValueError, KeyError, TypeError):
            bad += 1
        if number % 64 == 0:
            let_requests_run()
    if bad:
        log.error("prediction spool: %d unreadable lines in %s were skipped", bad, path)
    return records, bad


def convert_segment(path: Path, log_root: Path | str, *, sync: bool = False,
                    observers: list[Callable[[list[PredictionRecord]], None]] = ()) -> SegmentResult:
    """Write a segment's records to the prediction log (skipping files an earlier conversion wrote);
    delete the segment once every group is written."""
    records, bad = read_segment(path)
    result = SegmentResult(records=len(records), discarded=bad)
    groups: dict[tuple, list[PredictionRecord]] = defaultdict(list)
    for record in records:
        try:
            groups[file_group(record)[1]].append(record)
        except Exception:
            result.discarded += 1
            log.warning("prediction spool: malformed record in %s discarded", path, exc_info=True)
    for observer in observers:
        try:
            observer([r for members in groups.values() for r in members])
        except Exception:
            log.exception("prediction spool: an observer failed; the records are still written")
        let_requests_run()
    for key, members in groups.items():
        digest = hashlib.sha256(json.dumps([key[2], list(key[3])]).encode()).hexdigest()[:16]
        target = group_path(log_root, key, f"part-{path.stem}-{digest}.parquet")
        if object_files.exists(target):
            continue
        try:
            write_atomically(records_table(members, key[3], pause=let_requests_run), target, sync=sync)
        except Exception:
            result.complete = False
            log.exception("prediction spool: writing %s failed; the segment is kept and retried", target)
            continue
        result.written_rows += sum(len(r.outputs["predict"]) for r in members)
    if result.complete:
        path.unlink()
    return result


def _owner() -> str:
    host = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())
    return f"gw-{host}-{os.getpid()}-{time.time_ns()}"


def _segments(spool_root: Path) -> dict[str, list[Path]]:
    found: dict[str, list[Path]] = defaultdict(list)
    for path in sorted(Path(spool_root).glob("*.jsonl")):
        match = _SEGMENT.match(path.name)
        if match:
            found[match["owner"]].append(path)
    return found


@dataclass
class Replayed:
    """What a start-up replay wrote; ``left`` counts segments that failed to write and wait for the next start."""

    segments: int = 0
    records: int = 0
    written_rows: int = 0
    discarded: int = 0
    left: int = 0


def replay_spool(spool_root: Path, log_root: Path | str, *, sync: bool = False) -> Replayed:
    """Convert the segments of every gateway that is gone (its lock is free) into the prediction log."""
    replayed = Replayed()
    spool_root = Path(spool_root)
    if not spool_root.is_dir():
        return replayed
    owners = set(_segments(spool_root)) | {p.stem for p in spool_root.glob("*.lock")}
    for owner in sorted(owners):
        lock_path = spool_root / f"{owner}.lock"
        with _try_lock(lock_path) as held:
            if not held:
                continue  # a live gateway: its own writer converts its segments
            for segment in _segments(spool_root).get(owner, []):
                result = convert_segment(segment, log_root, sync=sync)
                replayed.segments += 1
                replayed.records += result.records
                replayed.written_rows += result.written_rows
                replayed.discarded += result.discarded
                replayed.left += 0 if result.complete else 1
            if not any(_segments(spool_root).get(owner, [])):
                lock_path.unlink(missing_ok=True)
    return replayed


@contextlib.contextmanager
def _try_lock(path: Path):
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


class SpooledPredictionLog(WriterThread):
    """The prediction log in ``spool`` or ``fsync`` durability: same interface as ``PredictionLogWriter``.

    ``offer`` costs one ``write()`` of one line (plus an ``fsync`` with ``sync``) and returns False only
    when the line could not be written, which the gateway turns into a refused request: no prediction
    is answered without its record.
    """

    refuses_unlogged = True
    _what = "prediction spool"

    def __init__(self, root: Path | str, spool_root: Path, *, sync: bool = False, flush_interval_s: float = 1.0,
                 observers: list[Callable[[list[PredictionRecord]], None]] | None = None):
        self.root = object_files.location(root)
        self.spool_root = Path(spool_root)
        self.sync = sync
        self.flush_interval_s = flush_interval_s
        self.observers = list(observers or [])
        self.owner = _owner()
        self.write_errors = self.discarded = self._dropped = self._written_rows = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._waiters: list[threading.Event] = []
        self._lock_fd: int | None = None
        self._fd: int | None = None
        self._seq = 0
        self._in_segment = 0
        self._closed_segments: list[tuple[Path, int]] = []
        self._observed: set[Path] = set()
        self._thread: threading.Thread | None = None
        self._closed = self._stopping = False

    @property
    def dropped(self) -> int:
        """Predictions that could not be spooled (and so were refused)."""
        return self._dropped

    @property
    def depth(self) -> int:
        """Predictions spooled and not yet in the Parquet log."""
        return self._in_segment + sum(n for _, n in self._closed_segments)

    def _segment_path(self, seq: int) -> Path:
        return self.spool_root / f"{self.owner}.{seq:08d}.jsonl"

    def _open_segment(self) -> None:
        self._seq += 1
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
        self._fd = os.open(self._segment_path(self._seq), flags, 0o644)
        self._in_segment = 0

    def _claim(self) -> None:
        """Take this gateway's lock and open its first segment (under ``_lock``)."""
        self.spool_root.mkdir(parents=True, exist_ok=True)
        self._lock_fd = os.open(self.spool_root / f"{self.owner}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._open_segment()

    def start(self) -> None:
        with self._lock:
            if self._closed or self._thread is not None:
                return
            if self._fd is None:
                self._claim()
            self._thread = threading.Thread(target=self._run, name="prediction-spool-writer", daemon=True)
            self._thread.start()

    def offer(self, record: PredictionRecord) -> bool:
        line = encode(record)
        with self._lock:
            if self._closed:
                self._dropped += 1
                return False
            try:
                if self._fd is None:
                    self._claim()
                os.write(self._fd, line)
                if self.sync:
                    os.fsync(self._fd)
            except OSError:
                self._dropped += 1
                self.write_errors += 1
                log.exception("prediction spool: could not append to %s", self._segment_path(self._seq))
                return False
            self._in_segment += 1
        return True


    def _rotate(self, *, reopen: bool) -> None:
        with self._lock:
            if self._fd is None or (reopen and not self._in_segment):
                return
            fd, path, count = self._fd, self._segment_path(self._seq), self._in_segment
            self._fd = None
            if reopen:
                self._open_segment()
            else:
                self._in_segment = 0
        if self.sync:
            os.fsync(fd)
        os.close(fd)
        self._closed_segments.append((path, count))

    def _convert_closed(self) -> None:
        while self._closed_segments:
            path, _ = self._closed_segments[0]
            observers = [] if path in self._observed else self.observers  # a retry must not count twice
            self._observed.add(path)
            try:
                result = convert_segment(path, self.root, sync=self.sync, observers=observers)
            except Exception:
                self.write_errors += 1
                log.exception("prediction spool: converting %s failed; retried at the next flush", path)
                return
            self._written_rows += result.written_rows
            self.discarded += result.discarded
            if not result.complete:
                self.write_errors += 1
                return
            self._closed_segments.pop(0)
            self._observed.discard(path)

    def _run(self) -> None:
        while True:
            self._wake.wait(self.flush_interval_s)
            self._wake.clear()
            stopping = self._stopping
            with self._lock:
                waiting, self._waiters[:] = list(self._waiters), []
            self._rotate(reopen=not stopping)
            self._convert_closed()
            if not self._closed_segments or stopping:
                for event in waiting:
                    event.set()
            else:
                with self._lock:
                    self._waiters[:0] = waiting
            if stopping:
                break
        left = sum(n for _, n in self._closed_segments)
        if left:
            log.error("prediction spool: %d predictions stay in %s and are written at the next start",
                      left, self.spool_root)
        elif self._lock_fd is not None:
            (self.spool_root / f"{self.owner}.lock").unlink(missing_ok=True)
        if self._lock_fd is not None:
            os.close(self._lock_fd)
