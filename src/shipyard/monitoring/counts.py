"""What drift needs of a column, gathered chunk by chunk: counts over the reference's bins or categories.

Feeding a column whole or in any number of chunks gives the same counts, so a file read
batch by batch is judged exactly like the same rows held in memory.
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from shipyard.monitoring.profile import bin_counts, rank_categories


class NumericCounts:
    """A numeric column against a reference profile's cut points: bin counts, nulls, range, values outside it."""

    def __init__(self, reference: dict[str, Any]):
        self.cuts = np.asarray(reference["cuts"], dtype="float64")
        self.reference_min = reference["min"]
        self.reference_max = reference["max"]
        self.bins = np.zeros(self.cuts.size + 1, dtype="int64")
        self.rows = 0
        self.finite = 0
        self.outside = 0
        self.low = np.inf
        self.high = -np.inf

    def add(self, values: np.ndarray) -> None:
        """Count a chunk of values; NaN and infinities count as nulls."""
        values = np.asarray(values, dtype="float64")
        self.rows += values.size
        finite = values[np.isfinite(values)]
        if not finite.size:
            return
        self.finite += finite.size
        self.bins += bin_counts(self.cuts, finite)
        self.low = min(self.low, float(finite.min()))
        self.high = max(self.high, float(finite.max()))
        if self.reference_min is not None:
            self.outside += int(np.count_nonzero((finite < self.reference_min) | (finite > self.reference_max)))


class CategoryCounts:
    """A categorical column as counts per category (as text) and a count of nulls."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self.nulls = 0

    def add(self, categories: Iterable[str], counts: Iterable[int], nulls: int = 0) -> None:
        merged = self._counts
        for category, count in zip(categories, counts):
            merged[category] = merged.get(category, 0) + int(count)
        self.nulls += int(nulls)

    def ranked(self) -> tuple[list[str], np.ndarray]:
        """Categories most frequent first (ties in text order) and their counts."""
        return rank_categories(list(self._counts), np.fromiter(self._counts.values(), dtype="int64",
                                                               count=len(self._counts)))
