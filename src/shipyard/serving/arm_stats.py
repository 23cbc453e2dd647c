"""What this gateway measured per arm, kept in memory for the rollout controller to judge.

Outcomes live in fixed-size NumPy ring buffers, not Python objects, so recording one costs
a few array writes and adds nothing for the garbage collector to scan.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import numpy as np

from shipyard.serving.fleet_window import FleetWindow, latency_counts
from shipyard.serving.rollout import Window

CAPACITY = 1 << 16


class _Ring:
    def __init__(self, capacity: int):
        self.time = np.zeros(capacity, dtype="float64")
        self.latency = np.zeros(capacity, dtype="float64")
        self.ok = np.zeros(capacity, dtype=bool)
        self.label = np.full(capacity, -1, dtype="int32")
        self.count = 0

    def add(self, when: float, latency_s: float, ok: bool, label: int) -> None:
        slot = self.count % len(self.time)
        self.time[slot], self.latency[slot], self.ok[slot], self.label[slot] = when, latency_s, ok, label
        self.count += 1


class ArmStats:
    """Recent outcomes per (model, version, arm): time, latency, success, first predicted label."""

    def __init__(self, capacity: int = CAPACITY):
        self._rings: dict[tuple[str, str, str], _Ring] = {}
        self._labels: dict[str, int] = {}
        self._capacity = capacity
        self._lock = threading.Lock()

    def record(self, model: str, version: str, arm: str, latency_s: float, ok: bool, label: str | None = None) -> None:
        ring = self._rings.get((model, version, arm))
        if ring is None:
            with self._lock:
                ring = self._rings.setdefault((model, version, arm), _Ring(self._capacity))
        code = -1
        if label is not None:
            code = self._labels.get(label)
            if code is None:
                code = self._labels.setdefault(label, len(self._labels))
        ring.add(time.time(), latency_s, ok, code)

    def window(self, model: str, version: str, arm: str, since: float) -> Window:
        ok, latencies, labels = self._since(model, version, arm, since)
        return Window(requests=int(ok.size), errors=int((~ok).sum()),
                      p99_ms=float(np.percentile(latencies, 99) * 1000) if latencies.size else None, labels=labels)

    def fleet_window(self, model: str, version: str, arm: str, since: float) -> FleetWindow:
        """The same outcomes as :meth:`window`, in a form other gateways' windows can be added to."""
        ok, latencies, labels = self._since(model, version, arm, since)
        return FleetWindow(requests=int(ok.size), errors=int((~ok).sum()), latencies=latency_counts(latencies),
                           labels=labels)

    def _since(self, model: str, version: str, arm: str, since: float) -> tuple[np.ndarray, np.ndarray, dict]:
        """Success flags, successful latencies (s) and label counts of the outcomes recorded since ``since``."""
        ring = self._rings.get((model, version, arm))
        if ring is None or ring.count == 0:
            return np.zeros(0, dtype=bool), np.zeros(0), {}
        filled = min(ring.count, len(ring.time))
        chosen = ring.time[:filled] >= since
        ok = ring.ok[:filled][chosen]
        latencies = ring.latency[:filled][chosen][ok]
        names = {code: name for name, code in self._labels.items()}
        labels = Counter(names[c] for c in ring.label[:filled][chosen].tolist() if c >= 0)
        return ok, latencies, dict(labels)
