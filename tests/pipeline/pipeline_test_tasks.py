"""Task functions the executor and runner tests send to worker processes."""

import os
import signal
import time
from pathlib import Path


def interval(*, seconds: float = 0.3):
    start = time.time()
    time.sleep(seconds)
    return {"start": start, "end": time.time(), "pid": os.getpid()}


def pid():
    return os.getpid()


def segfault():
    os.kill(os.getpid(), signal.SIGSEGV)


def hard_exit():
    os._exit(3)


def sleep_forever():
    time.sleep(3600)


def raise_value_error():
    raise ValueError("boom in user land")


def flaky(*, marker: str, failures: int):
    """Crash the interpreter ``failures`` times (counted in a file), then succeed."""
    path = Path(marker)
    count = int(path.read_text()) if path.exists() else 0
    path.write_text(str(count + 1))
    if count < failures:
        os._exit(1)
    return count + 1
