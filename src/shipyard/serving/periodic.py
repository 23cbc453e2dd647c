"""A function run every few seconds on a daemon thread of the gateway, surviving its own failures.

A failure is logged when it starts and when it ends, not at every attempt in between, so an outage of
what the work reads does not flood the log. A backend that is down (the metadata store unreachable)
is one warning line, without a traceback; any other failure keeps its traceback, as it is a bug.
While failing, attempts back off exponentially up to :data:`MAX_BACKOFF_S`. With the gateway's
metrics, every failed attempt is counted and whether the loop is failing is a gauge.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Callable

from shipyard.errors import BackendError

if TYPE_CHECKING:
    from shipyard.serving.metrics import GatewayMetrics

log = logging.getLogger(__name__)
MAX_BACKOFF_S = 5.0


class Periodic:
    def __init__(self, name: str, interval_s: float, work: Callable[[], object], failure: str,
                 metrics: GatewayMetrics | None = None):
        self.name, self.interval_s, self.work, self.failure = name, interval_s, work, failure
        self.metrics = metrics
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.failed_attempts = 0
        """How many attempts in a row have failed until now."""
        self._failing_since = 0.0

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
            self._thread.start()

    def next_wait_s(self) -> float:
        """The interval while working; doubling with each failed attempt in a row, up to the cap, while not."""
        if not self.failed_attempts:
            return self.interval_s
        return max(self.interval_s, min(MAX_BACKOFF_S, self.interval_s * 2 ** min(self.failed_attempts, 32)))

    def _loop(self) -> None:
        while not self._stop.wait(self.next_wait_s()):
            try:
                self.work()
            except Exception as exc:
                self._failed(exc)
                continue
            if self.failed_attempts:
                log.warning("%s: working again after %d failed attempts over %.1fs", self.name,
                            self.failed_attempts, time.monotonic() - self._failing_since)
                self.failed_attempts = 0
                if self.metrics is not None:
                    self.metrics.loop_failing.labels(self.name).set(0)

    def _failed(self, exc: Exception) -> None:
        if not self.failed_attempts:
            self._failing_since = time.monotonic()
            if isinstance(exc, BackendError):
                log.warning("%s: %s: %s (retrying with backoff up to every %.0fs; one line when it works again)",
                            self.name, self.failure, exc.message, MAX_BACKOFF_S)
            else:
                log.exception("%s: %s", self.name, self.failure)
        self.failed_attempts += 1
        if self.metrics is not None:
            self.metrics.loop_failures.labels(self.name).inc()
            self.metrics.loop_failing.labels(self.name).set(1)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
