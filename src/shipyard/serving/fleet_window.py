"""One window of a stable version's outcomes that gateways can add up: counts and a latency histogram.

A p99 cannot be averaged across gateways, so each gateway publishes its successful requests'
latencies as counts over fixed, geometrically spaced buckets (each 10% wider than the one
before); the fleet's p99 is read off the summed histogram, never more than one bucket (10%) high.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shipyard.serving.rollout import Window

LATENCY_EDGES_MS = np.geomspace(0.01, 600_000.0, num=int(np.ceil(np.log(6e7) / np.log(1.1))) + 1)
"""Upper edges of the latency buckets, 10 µs to 10 minutes; slower requests count in the last one."""


def latency_counts(latencies_s: np.ndarray) -> dict[int, int]:
    """Bucket index -> requests, for latencies in seconds."""
    if not latencies_s.size:
        return {}
    index = np.minimum(np.searchsorted(LATENCY_EDGES_MS, latencies_s * 1000.0), len(LATENCY_EDGES_MS) - 1)
    buckets, counts = np.unique(index, return_counts=True)
    return {int(b): int(c) for b, c in zip(buckets, counts)}


@dataclass(frozen=True)
class FleetWindow:
    requests: int = 0
    errors: int = 0
    latencies: dict[int, int] = field(default_factory=dict)
    labels: dict[str, int] = field(default_factory=dict)

    def p99_ms(self) -> float | None:
        total = sum(self.latencies.values())
        if not total:
            return None
        needed, seen = 0.99 * total, 0
        for bucket in sorted(self.latencies):
            seen += self.latencies[bucket]
            if seen >= needed:
                return float(LATENCY_EDGES_MS[bucket])
        return float(LATENCY_EDGES_MS[max(self.latencies)])

    def as_window(self) -> Window:
        return Window(requests=self.requests, errors=self.errors, p99_ms=self.p99_ms(), labels=dict(self.labels))

    def to_json(self) -> dict[str, Any]:
        return {"requests": self.requests, "errors": self.errors,
                "latencies": {str(k): v for k, v in self.latencies.items()}, "labels": dict(self.labels)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FleetWindow:
        return cls(requests=int(data.get("requests", 0)), errors=int(data.get("errors", 0)),
                   latencies={int(k): int(v) for k, v in (data.get("latencies") or {}).items()},
                   labels={str(k): int(v) for k, v in (data.get("labels") or {}).items()})


def merged(windows: list[FleetWindow]) -> FleetWindow:
    latencies: Counter[int] = Counter()
    labels: Counter[str] = Counter()
    for window in windows:
        latencies.update(window.latencies)
        labels.update(window.labels)
    return FleetWindow(requests=sum(w.requests for w in windows), errors=sum(w.errors for w in windows),
                       latencies=dict(latencies), labels=dict(labels))
