"""Polling for a condition that other threads or processes bring about."""

import time


def eventually(predicate, timeout: float, interval: float = 0.05) -> bool:
    """Whether ``predicate()`` became true within ``timeout`` seconds, asked every ``interval``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False
