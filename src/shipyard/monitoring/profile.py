"""Reference profiles: a compact picture of a data set, and of a version's predictions.

Drift is computed against the profile alone, never the raw data: per numeric column the
quantile cut points with counts, min/max, null rate and a scale; per categorical column
the category frequencies; and, for a model version, the same for its predictions.

Only the functions that take pandas objects import pandas, so a profile built from
Arrow columns (``shipyard drift`` on files) never loads it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

FORMAT = 1
NUMERIC_BINS = 20
MAX_CATEGORIES = 100


def is_numeric(values: pd.Series) -> bool:
    """Numbers are judged as numbers; booleans and categoricals (of numbers too) as categories."""
    import pandas as pd

    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def numeric_profile(values: np.ndarray, bins: int = NUMERIC_BINS) -> dict[str, Any]:
    values = np.asarray(values, dtype="float64")
    finite = values[np.isfinite(values)]
    profile: dict[str, Any] = {"kind": "numeric", "n": int(values.size),
                               "null_rate": float(1 - finite.size / values.size) if values.size else 0.0}
    if not finite.size:
        return {**profile, "cuts": [], "counts": [0], "min": None, "max": None, "std": None, "iqr": None}
    # ``finite`` is a fresh copy (boolean indexing always copies), so it may be partitioned in place
    *edges, q25, q75 = quantiles(finite, [*np.linspace(0, 1, bins + 1), 0.25, 0.75])
    cuts = np.sort(edges[1:-1])
    cuts = cuts[np.append(True, np.diff(cuts) > 0)]
    counts = bin_counts(cuts, finite)
    return {**profile, "cuts": cuts.tolist(), "counts": counts.tolist(), "min": float(finite.min()),
            "max": float(finite.max()), "mean": float(finite.mean()), "std": float(finite.std()),
            "iqr": float(q75 - q25)}


def quantiles(values: np.ndarray, probabilities) -> np.ndarray:
    """``np.quantile(values, probabilities)`` (linear interpolation), bit for bit, for a 1-D float array without
    NaN, which it partitions in place. ``np.quantile`` calls ``np.unique``, whose first use imports
    ``numpy.ma`` — a noticeable share of a short command's start-up."""
    n = values.size
    virtual = (n - 1) * np.asarray(probabilities, dtype="float64")
    below = np.floor(virtual)
    lower = np.minimum(below, n - 1).astype(np.intp)
    upper = np.minimum(lower + 1, n - 1)
    values.partition(sorted({0, n - 1, *lower.tolist(), *upper.tolist()}))
    a, b = values[lower], values[upper]
    gamma = virtual - below
    difference = b - a
    result = a + difference * gamma
    np.subtract(b, difference * (1 - gamma), out=result, where=gamma >= 0.5)  # numpy's _lerp, exact at both ends
    return result


def bin_counts(cuts: np.ndarray, values: np.ndarray) -> np.ndarray:
    """How many ``values`` fall in each bin between sorted unique ``cuts`` (a value equal to a cut goes to the
    bin above it); ``len(cuts) + 1`` counts. One vectorised comparison per cut is several times faster than
    ``np.searchsorted`` into so few cuts."""
    below = [np.count_nonzero(values < cut) for cut in cuts]
    return np.diff(np.array([0, *below, values.size], dtype="int64"))


def rank_categories(categories: list[str], counts: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Categories most frequent first, ties in text order, so every reader of the same data ranks them alike."""
    counts = np.asarray(counts, dtype="int64")
    by_text = np.argsort(np.asarray(categories, dtype=object), kind="stable")
    order = by_text[np.argsort(-counts[by_text], kind="stable")]
    return [categories[i] for i in order], counts[order]


def category_counts(values: pd.Series | np.ndarray) -> tuple[pd.Series, int]:
    """Counts per category (as text), most frequent first, and the number of nulls; no per-row conversion."""
    import pandas as pd

    series = values if isinstance(values, pd.Series) else pd.Series(values)
    counts = series.value_counts(dropna=True)
    counts.index = counts.index.astype(str)
    if not counts.index.is_unique:  # e.g. 1 and "1" in one object column
        counts = counts.groupby(level=0).sum()
    categories, ranked = rank_categories(counts.index.tolist(), counts.to_numpy())
    return pd.Series(ranked, index=pd.Index(categories, dtype=object)), int(series.size - counts.sum())


def categorical_profile_of_counts(categories: list[str], counts: np.ndarray, nulls: int,
                                  limit: int = MAX_CATEGORIES) -> dict[str, Any]:
    """The profile of a column known by its counts per category (most frequent first) and its nulls."""
    counts = np.asarray(counts, dtype="int64")
    size = int(counts.sum()) + nulls
    return {"kind": "categorical", "n": size, "null_rate": float(nulls / size) if size else 0.0,
            "categories": list(categories[:limit]), "counts": [int(c) for c in counts[:limit]],
            "other": int(counts[limit:].sum())}


def categorical_profile(values: pd.Series | np.ndarray, limit: int = MAX_CATEGORIES) -> dict[str, Any]:
    frequencies, nulls = category_counts(values)
    return categorical_profile_of_counts(frequencies.index.tolist(), frequencies.to_numpy(), nulls, limit)


def build_profile(features: pd.DataFrame, predictions: np.ndarray | None = None, *,
                  task: str | None = None) -> dict[str, Any]:
    """The profile of a frame's columns and, for a model version, of what it predicts (by ``task``)."""
    import pandas as pd

    columns = {name: numeric_profile(features[name].to_numpy(dtype="float64", na_value=np.nan))
               if is_numeric(features[name]) else categorical_profile(features[name])
               for name in features.columns}
    prediction = None
    if predictions is not None:
        if task == "regression":
            prediction = numeric_profile(np.asarray(predictions, dtype="float64"))
        else:
            prediction = categorical_profile(pd.Series(np.asarray(predictions)).astype(str))
    return {"format": FORMAT, "rows": int(len(features)), "task": task, "features": columns,
            "prediction": prediction}
