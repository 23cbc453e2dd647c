"""Each step's own output: what it printed and, when it failed, its traceback, kept per run and step.

A run's process writes everything to ``run-logs/RUN.log``; steps run side by side there, so their lines
interleave. A worker running a step also captures its file descriptors 1 and 2 in
``run-logs/RUN/STEP.log``, with the traceback when the step fails, and copies what the step printed to
the run's log when the step ends, so that the run's log stays whole and the step's output can be read alone.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from shipyard.config import Settings
from shipyard.errors import NotFoundError

LOGS_FOLDER = "run-logs"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")


@dataclass(frozen=True)
class LogTail:
    """The end of a log: at most the asked number of bytes, cut at a line start when it was cut."""

    text: str
    size_bytes: int
    truncated: bool


def run_log_path(run_id: str, settings: Settings) -> Path:
    return settings.home / LOGS_FOLDER / f"{_checked(run_id)}.log"


def step_log_path(run_id: str, step: str, settings: Settings) -> Path:
    return settings.home / LOGS_FOLDER / _checked(run_id) / f"{_checked(step)}.log"


@contextlib.contextmanager
def captured(run_id: str, step: str, settings: Settings) -> Iterator[None]:
    """Send this process's stdout and stderr (``sys`` streams and file descriptors, so that C libraries' and
    child processes' output is caught too) to the step's log for the block, with the traceback of an
    exception that ends it. What the step printed is then copied to the stderr the process had before; the
    traceback is not (the caller reports the error its own way).

    Only for a process that runs one step at a time (a worker): another thread's output would land here too.
    """
    path = step_log_path(run_id, step, settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    _flush()
    with open(path, "ab", buffering=0) as log:
        started = datetime.now(timezone.utc).isoformat(timespec="seconds")
        log.write(f"--- step {step} started {started}\n".encode())
        printed_from = printed_to = os.fstat(log.fileno()).st_size
        saved = [os.dup(1), os.dup(2)]
        text = open(log.fileno(), "w", encoding="utf-8", errors="replace", buffering=1, closefd=False)
        try:
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
            with contextlib.redirect_stdout(text), contextlib.redirect_stderr(text):
                yield
        except BaseException:
            printed_to = _flushed_size(text, log)
            log.write(traceback.format_exc().encode("utf-8", "replace"))
            raise
        else:
            printed_to = _flushed_size(text, log)
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            text.close()
            _echo(path, printed_from, printed_to)


def tail(path: Path, max_bytes: int) -> LogTail:
    """The last ``max_bytes`` of the file (an empty text when it does not exist)."""
    try:
        with open(path, "rb") as log:
            size = log.seek(0, os.SEEK_END)
            log.seek(max(0, size - max_bytes))
            data = log.read(max_bytes)
    except FileNotFoundError:
        return LogTail("", 0, False)
    truncated = size > max_bytes
    if truncated and b"\n" in data[:-1]:
        data = data[data.index(b"\n") + 1:]
    return LogTail(data.decode("utf-8", "replace"), size, truncated)


def _checked(name: str) -> str:
    if not _SAFE_NAME.match(name):
        raise NotFoundError(f"there is no log named '{name}'", hint="give a run id and one of its steps' names")
    return name


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()


def _flushed_size(text, log) -> int:
    _flush()
    text.flush()
    return os.fstat(log.fileno()).st_size


def _echo(path: Path, start: int, end: int) -> None:
    with contextlib.suppress(OSError), open(path, "rb") as log, open(2, "wb", closefd=False) as out:
        log.seek(start)
        remaining = end - start
        while remaining > 0 and (chunk := log.read(min(remaining, 1 << 16))):
            out.write(chunk)
            remaining -= len(chunk)
