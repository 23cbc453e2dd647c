"""Live drift in the gateway: binned counts of recent traffic on each version's reference bins.

Fed by the prediction-log writer thread (never the request path) with whole batches of
records; read at scrape time as one PSI per feature, so a Prometheus rule can alert on
drift within minutes, without waiting for a batch drift run. The same counts, summed over any
recent span (:meth:`LiveDrift.binned_since`), are what a gateway publishes for the stable-version
watch to add up across the fleet and judge with :func:`feature_psi`.
"""

from __future__ import annotations

import collections
import itertools
import logging
import threading
import time
from typing import Any

import numpy as np
import pandas as pd

from shipyard.config import Settings
from shipyard.monitoring.drift import categorical_psi, current_slots, psi, reference_slots
from shipyard.monitoring.profile import category_counts

log = logging.getLogger(__name__)


def reference_counts(reference: dict[str, Any]) -> np.ndarray:
    """A reference column's counts in the slots live traffic is binned into (numeric bins or category slots)."""
    if reference["kind"] == "numeric":
        return np.asarray(reference["counts"], dtype="float64")
    return reference_slots(reference)


def feature_psi(reference: dict[str, Any], current: np.ndarray) -> float:
    """PSI of live counts binned like :class:`LiveDrift` against the reference column (the categorical rule of
    batch drift: values never seen in training are judged by their share, not here)."""
    expected = reference_counts(reference)
    current = np.asarray(current, dtype="float64")
    return psi(expected, current) if reference["kind"] == "numeric" else categorical_psi(expected, current)


def _category_counts(values: list) -> tuple[list[str], np.ndarray]:
    """Counts per category as text, nulls left out, as :func:`category_counts` counts them; text values (what
    requests carry) are counted without building a pandas Series, which the writer thread would pay per batch."""
    if all(type(value) is str or value is None for value in values):
        counted = collections.Counter(values)
        counted.pop(None, None)
        return list(counted), np.fromiter(counted.values(), dtype="float64", count=len(counted))
    frequencies, _ = category_counts(pd.Series(values, dtype=object))
    return frequencies.index.tolist(), frequencies.to_numpy()


class _Feature:
    def __init__(self, reference: dict[str, Any], buckets: int):
        self.numeric = reference["kind"] == "numeric"
        self.reference_column = reference
        if self.numeric:
            self.cuts = np.asarray(reference["cuts"], dtype="float64")
        else:
            self.categorical_reference = reference
        self.reference = reference_counts(reference)
        self.counts = np.zeros((buckets, self.reference.size))

    def binned(self, values: list) -> np.ndarray:
        """Counts of ``values`` per reference slot."""
        if self.numeric:
            array = np.asarray(values, dtype="float64")
            bins = np.searchsorted(self.cuts, array[np.isfinite(array)], side="right")
            return np.bincount(bins, minlength=self.reference.size)
        categories, counts = _category_counts(values)
        return current_slots(self.categorical_reference, categories, counts)

    def stability(self, current: np.ndarray) -> float:
        return feature_psi(self.reference_column, current)


class LiveDrift:
    """Binned counts of the last ``window_s`` of traffic per version, in ``buckets`` slices of time."""

    def __init__(self, settings: Settings, *, window_s: float = 3600, buckets: int = 120):
        self.settings = settings
        self.bucket_s = window_s / buckets
        self.buckets = buckets
        self._versions: dict[tuple[str, str], dict[str, _Feature] | None] = {}
        self._min_rows: dict[tuple[str, str], int] = {}
        self._bucket_of: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def _features(self, model: str, version: str) -> dict[str, _Feature] | None:
        key = (model, version)
        if key not in self._versions:
            from shipyard.monitoring.references import load_profile

            try:
                profile, spec, _ = load_profile(model, version, settings=self.settings)
            except Exception as exc:  # no profile: this version is simply not watched live
                log.info("no live drift for %s v%s: %s", model, version, exc)
                self._versions[key] = None
            else:
                self._versions[key] = {n: _Feature(r, self.buckets) for n, r in profile["features"].items()}
                self._min_rows[key] = spec.min_rows
        return self._versions[key]

    def observe(self, records: list) -> None:
        """Count a batch of prediction records (called by the log writer thread, which lets requests run
        between features)."""
        tick = int(time.time() // self.bucket_s)
        for (model, version), group in itertools.groupby(sorted(records, key=lambda r: (r.model, r.version)),
                                                         key=lambda r: (r.model, r.version)):
            features = self._features(model, version)
            if not features:
                continue
            group = list(group)
            binned = {}
            for name, feature in features.items():
                values = list(itertools.chain.from_iterable(r.features.get(name, ()) for r in group))
                if values:
                    binned[name] = feature.binned(values)
                    time.sleep(0)  # releases the GIL: a waiting request need not wait for the switch interval
            with self._lock:
                self._advance((model, version), features, tick)
                for name, counts in binned.items():
                    features[name].counts[tick % self.buckets] += counts

    def _advance(self, key: tuple[str, str], features: dict[str, _Feature], tick: int) -> None:
        last = self._bucket_of.get(key, tick)
        for stale in range(last + 1, min(tick, last + self.buckets) + 1):
            for feature in features.values():
                feature.counts[stale % self.buckets] = 0
        self._bucket_of[key] = max(tick, last)

    def binned_since(self, model: str, version: str, since: float) -> dict[str, list[int]]:
        """Feature -> counts per slot of the traffic observed since ``since`` (a Unix time), from the buckets
        that overlap it: at most one bucket (``window_s / buckets``) more, and never more than ``window_s``.
        Empty for a version without a reference profile."""
        tick = int(time.time() // self.bucket_s)
        first = max(int(since // self.bucket_s), tick - self.buckets + 1)
        features = self._features(model, version)
        if not features:
            return {}
        with self._lock:
            self._advance((model, version), features, tick)
            chosen = [t % self.buckets for t in range(first, tick + 1)]
            return {name: [int(c) for c in feature.counts[chosen].sum(axis=0)] for name, feature in features.items()}

    def snapshot(self) -> list[tuple[str, str, str, float, int]]:
        """(model, version, feature, PSI, rows) for every version with enough recent rows to judge."""
        tick = int(time.time() // self.bucket_s)
        out = []
        with self._lock:
            for key, features in self._versions.items():
                if not features:
                    continue
                self._advance(key, features, tick)
                for name, feature in features.items():
                    current = feature.counts.sum(axis=0)
                    rows = int(current.sum())
                    if rows >= self._min_rows.get(key, 1):
                        out.append((*key, name, feature.stability(current), rows))
        return out
