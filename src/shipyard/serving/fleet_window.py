"""One window of a stable version's outcomes that gateways can add up: counts and a latency histogram.

A p99 cannot be averaged across gateways, so each gateway publishes its successful requests'
latencies as counts over fixed, geometrically spaced buckets (each 10% wider than the one
before); the fleet's p99 is read off the summed histogram, never more than one bucket (10%) high.
Inputs are published the same way, as counts per feature over the reference profile's bins
(``inputs``), so the fleet's live PSI is computed from the summed counts, never from raw rows.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from itertools import zip_longest
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
    inputs: dict[str, list[int]] = field(default_factory=dict)
    """Feature -> live counts per slot of the version's reference bins (see ``monitoring.live``)."""

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
                "latencies": {str(k): v for k, v in self.latencies.items()}, "labels": dict(self.labels),
                "inputs": {name: list(counts) for name, counts in self.inputs.items()}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FleetWindow:
        return cls(requests=int(data.get("requests", 0)), errors=int(data.get("errors", 0)),
                   latencies={int(k): int(v) for k, v in (data.get("latencies") or {}).items()},
                   labels={str(k): int(v) for k, v in (data.get("labels") or {}).items()},
                   inputs={str(k): [int(c) for c in v] for k, v in (data.get("inputs") or {}).items()})


def merged(windows: list[FleetWindow]) -> FleetWindow:
    latencies: Counter[int] = Counter()
    labels: Counter[str] = Counter()
    inputs: dict[str, list[int]] = {}
    for window in windows:
        latencies.update(window.latencies)
        labels.update(window.labels)
        for name, counts in window.inputs.items():
            inputs[name] = [a + b for a, b in zip_longest(inputs.get(name, ()), counts, fillvalue=0)]
    return FleetWindow(requests=sum(w.requests for w in windows), errors=sum(w.errors for w in windows),
                       latencies=dict(latencies), labels=dict(labels), inputs=inputs)
