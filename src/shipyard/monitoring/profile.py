"""Reference profiles: a compact picture of a version's training data and predictions.

Drift is computed against the profile alone, never the raw training data: per numeric
feature the quantile cut points with counts, min/max, null rate and a scale; per
categorical feature the category frequencies; and the same for the predictions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

FORMAT = 1
NUMERIC_BINS = 20
MAX_CATEGORIES = 100


def is_numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def numeric_profile(values: np.ndarray, bins: int = NUMERIC_BINS) -> dict[str, Any]:
    values = np.asarray(values, dtype="float64")
    finite = values[np.isfinite(values)]
    profile: dict[str, Any] = {"kind": "numeric", "n": int(values.size),
                               "null_rate": float(1 - finite.size / values.size) if values.size else 0.0}
    if not finite.size:
        return {**profile, "cuts": [], "counts": [0], "min": None, "max": None, "std": None, "iqr": None}
    quantiles = np.quantile(finite, np.linspace(0, 1, bins + 1))
    cuts = np.unique(quantiles[1:-1])
    counts = np.bincount(np.searchsorted(cuts, finite, side="right"), minlength=cuts.size + 1)
    q25, q75 = np.quantile(finite, [0.25, 0.75])
    return {**profile, "cuts": cuts.tolist(), "counts": counts.tolist(), "min": float(finite.min()),
            "max": float(finite.max()), "mean": float(finite.mean()), "std": float(finite.std()),
            "iqr": float(q75 - q25)}


def category_counts(values: pd.Series | np.ndarray) -> tuple[pd.Series, int]:
    """Counts per category (as text), most frequent first, and the number of nulls; no per-row conversion."""
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    counts = series.value_counts(dropna=True)
    counts.index = counts.index.astype(str)
    if not counts.index.is_unique:  # e.g. 1 and "1" in one object column
        counts = counts.groupby(level=0).sum().sort_values(ascending=False)
    return counts, int(series.size - counts.sum())


def categorical_profile(values: pd.Series | np.ndarray, limit: int = MAX_CATEGORIES) -> dict[str, Any]:
    frequencies, nulls = category_counts(values)
    size = int(frequencies.sum()) + nulls
    top = frequencies.head(limit)
    return {"kind": "categorical", "n": size, "null_rate": float(nulls / size) if size else 0.0,
            "categories": top.index.tolist(), "counts": [int(c) for c in top.tolist()],
            "other": int(frequencies.iloc[limit:].sum())}


def build_profile(features: pd.DataFrame, predictions: np.ndarray, *, task: str) -> dict[str, Any]:
    """The profile of the input columns a version takes and of what it predicts."""
    columns = {name: numeric_profile(features[name].to_numpy(dtype="float64", na_value=np.nan))
               if is_numeric(features[name]) else categorical_profile(features[name])
               for name in features.columns}
    if task == "regression":
        prediction = numeric_profile(np.asarray(predictions, dtype="float64"))
    else:
        prediction = categorical_profile(pd.Series(np.asarray(predictions)).astype(str))
    return {"format": FORMAT, "rows": int(len(features)), "task": task, "features": columns,
            "prediction": prediction}
