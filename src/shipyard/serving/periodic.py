"""A function run every few seconds on a daemon thread of the gateway, surviving its own failures.

A failure is logged when it starts (with its traceback) and when it ends, not at every attempt in
between, so an outage of what the work reads does not flood the log.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

log = logging.getLogger(__name__)


class Periodic:
    def __init__(self, name: str, interval_s: float, work: Callable[[], object], failure: str):
        self.name, self.interval_s, self.work, self.failure = name, interval_s, work, failure
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.failed_attempts = 0
        """How many attempts in a row have failed until now."""

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.work()
            except Exception:
                if not self.failed_attempts:
                    log.exception(self.failure)
                self.failed_attempts += 1
                continue
            if self.failed_attempts:
                log.warning("%s: working again after %d failed attempts", self.name, self.failed_attempts)
                self.failed_attempts = 0

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
