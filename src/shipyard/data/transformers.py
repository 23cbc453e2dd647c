"""Column-wise transformers behind the declarative 'log', 'clip' and 'bucketize' transforms.

Each maps every input column to one output column of the same name, keeps missing
values missing, and accepts DataFrames or arrays.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from shipyard.errors import DataError


class _ColumnWise(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    def _check_params(self) -> None:
        pass

    def _check(self, X, *, reset: bool) -> np.ndarray:
        return validate_data(self, X, reset=reset, dtype=np.float64, ensure_all_finite="allow-nan")

    def fit(self, X, y=None):
        self._check_params()
        values = self._check(X, reset=True)
        self._fit_values(values)
        return self

    def _fit_values(self, values: np.ndarray) -> None:
        pass

    def transform(self, X):
        check_is_fitted(self, "n_features_in_")
        return self._apply(self._check(X, reset=False))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


class LogTransformer(_ColumnWise):
    """``log(x + offset)``; values at or below ``-offset`` become NaN when transforming."""

    def __init__(self, offset: float = 1.0):
        self.offset = offset

    def _check_params(self) -> None:
        if self.offset < 0:
            raise ValueError(f"offset must be >= 0, got {self.offset}")

    def _fit_values(self, values: np.ndarray) -> None:
        with np.errstate(invalid="ignore"):
            low = values <= -self.offset
        if low.any():
            columns = np.flatnonzero(low.any(axis=0))
            names = getattr(self, "feature_names_in_", None)
            shown = ", ".join(str(names[i]) if names is not None else f"#{i}" for i in columns)
            raise DataError(f"log transform: column(s) {shown} have values <= -offset ({-self.offset}), "
                            f"e.g. {values[low][0]:g}; their logarithm is undefined",
                            hint="clip the column first ({kind: clip, min: 0}) or raise the log offset")

    def _apply(self, values: np.ndarray) -> np.ndarray:
        shifted = values + self.offset
        result = np.full_like(shifted, np.nan)
        np.log(shifted, out=result, where=shifted > 0)
        return result


class ClipTransformer(_ColumnWise):
    def __init__(self, min: float | None = None, max: float | None = None):
        self.min = min
        self.max = max

    def _check_params(self) -> None:
        if self.min is None and self.max is None:
            raise ValueError("clip needs min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")

    def _apply(self, values: np.ndarray) -> np.ndarray:
        return np.clip(values, self.min, self.max)


class BucketizeTransformer(_ColumnWise):
    """Bucket number by explicit inner edges: ``edges=[10, 20]`` gives 0 below 10, 1 in [10, 20), 2 from 20."""

    def __init__(self, edges: list[float] | tuple[float, ...] = ()):
        self.edges = edges

    def _check_params(self) -> None:
        edges = np.asarray(self.edges, dtype=float)
        if edges.ndim != 1 or len(edges) == 0:
            raise ValueError("edges must be a non-empty list of numbers")
        if np.any(np.diff(edges) <= 0):
            raise ValueError(f"edges must be strictly increasing, got {list(self.edges)}")

    def _apply(self, values: np.ndarray) -> np.ndarray:
        buckets = np.digitize(values, np.asarray(self.edges, dtype=float), right=False).astype(np.float64)
        buckets[np.isnan(values)] = np.nan
        return buckets
