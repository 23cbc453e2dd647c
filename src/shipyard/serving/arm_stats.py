"""What this gateway measured per arm, kept in memory for the rollout controller to judge."""

from __future__ import annotations

import threading
import time
from collections import Counter, deque

import numpy as np

from shipyard.serving.rollout import Window

_MAX_EVENTS = 100_000


class ArmStats:
    """Recent outcomes per (model, version, arm): time, latency, success, predicted labels."""

    def __init__(self, max_events: int = _MAX_EVENTS):
        self._events: dict[tuple[str, str, str], deque] = {}
        self._max_events = max_events
        self._lock = threading.Lock()

    def record(self, model: str, version: str, arm: str, latency_s: float, ok: bool,
               labels: tuple[str, ...] = ()) -> None:
        key = (model, version, arm)
        events = self._events.get(key)
        if events is None:
            with self._lock:
                events = self._events.setdefault(key, deque(maxlen=self._max_events))
        events.append((time.time(), latency_s, ok, labels))

    def window(self, model: str, version: str, arm: str, since: float) -> Window:
        events = [e for e in list(self._events.get((model, version, arm), ())) if e[0] >= since]
        if not events:
            return Window(requests=0, errors=0, p99_ms=None, labels={})
        latencies = np.fromiter((e[1] for e in events if e[2]), dtype="float64")
        labels = Counter(label for e in events for label in e[3])
        return Window(requests=len(events), errors=sum(1 for e in events if not e[2]),
                      p99_ms=float(np.percentile(latencies, 99) * 1000) if latencies.size else None,
                      labels=dict(labels))
