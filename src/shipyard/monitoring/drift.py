"""Drift of a set of values against a reference profile, feature by feature.

Everything is computed on counts over the reference's bins (numeric) or categories
(see ``counts``), so a window of any size costs one vectorised binning pass per feature,
and a file read in batches is judged exactly like the same rows in memory. SciPy is
loaded only for the small-sample tests, pandas only by the functions that take frames.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from shipyard.monitoring.counts import NumericCounts
from shipyard.monitoring.profile import category_counts
from shipyard.spec.monitoring import MonitoringSpec

if TYPE_CHECKING:
    import pandas as pd

SEVERITIES = ("ok", "warning", "critical")
_EPS = 1e-4


def _level(value: float | None, levels) -> str:
    if value is None or not np.isfinite(value):
        return "ok"
    return "critical" if value >= levels.critical else "warning" if value >= levels.warning else "ok"


def worst(*severities: str) -> str:
    return max(severities, key=SEVERITIES.index, default="ok")


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index of two count vectors over the same bins."""
    e = np.clip(expected / max(expected.sum(), 1), _EPS, None)
    a = np.clip(actual / max(actual.sum(), 1), _EPS, None)
    return float(np.sum((a - e) * np.log(a / e)))


def _binned_wasserstein(cuts: np.ndarray, ref: np.ndarray, cur: np.ndarray, lo: float, hi: float) -> float:
    """Earth mover's distance between two histograms on shared edges (outer bins closed at lo/hi)."""
    edges = np.concatenate([[lo], cuts, [hi]])
    widths = np.diff(edges)
    cdf_gap = np.abs(np.cumsum(ref / ref.sum()) - np.cumsum(cur / cur.sum()))[:-1]
    # mass moved across each interior edge, carried half a bin on either side
    return float(np.sum(cdf_gap * (widths[:-1] + widths[1:]) / 2))


def _jensen_shannon(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon distance (base 2) of two count vectors, as ``scipy.spatial.distance.jensenshannon``."""
    p, q = p / p.sum(), q / q.sum()
    middle = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        divergence = sum(float(np.sum(np.where(x > 0, x * np.log(x / middle), 0.0))) for x in (p, q))
    return float(np.sqrt(max(divergence, 0.0) / 2 / np.log(2)))


def numeric_drift(reference: dict[str, Any], values: np.ndarray, spec: MonitoringSpec) -> dict[str, Any]:
    counts = NumericCounts(reference)
    counts.add(values)
    return judge_numeric(reference, counts, spec)


def judge_numeric(reference: dict[str, Any], counts: NumericCounts, spec: MonitoringSpec) -> dict[str, Any]:
    """A numeric column's drift from its counts over the reference's bins."""
    null_rate = float(1 - counts.finite / counts.rows) if counts.rows else 0.0
    result: dict[str, Any] = {"kind": "numeric", "rows": counts.rows, "null_rate": null_rate,
                              "reference_null_rate": reference["null_rate"]}
    cuts = counts.cuts
    ref_counts = np.asarray(reference["counts"], dtype="float64")
    if not counts.finite or not ref_counts.sum():
        return {**result, "severity": worst(_null_severity(result, spec)), "method": "none",
                "note": "no numeric values to compare"}
    cur_counts = counts.bins.astype("float64")
    lo = min(reference["min"], counts.low)
    hi = max(reference["max"], counts.high)
    scale = reference.get("iqr") or reference.get("std") or (hi - lo) or 1.0
    distance = _binned_wasserstein(cuts, ref_counts, cur_counts, lo, hi) / scale
    stability = psi(ref_counts, cur_counts)
    cdf_gap = float(np.max(np.abs(np.cumsum(ref_counts / ref_counts.sum())
                                  - np.cumsum(cur_counts / cur_counts.sum())))) if cuts.size else 0.0
    out_of_range = counts.outside / counts.finite
    result.update(psi=stability, wasserstein=distance, ks_statistic=cdf_gap, out_of_range=out_of_range,
                  reference_bins=ref_counts.tolist(), current_bins=cur_counts.tolist(), cuts=cuts.tolist())
    if counts.finite < spec.small_sample:
        from scipy import special

        n_eff = counts.finite * ref_counts.sum() / (counts.finite + ref_counts.sum())
        p_value = float(special.kolmogorov(np.sqrt(n_eff) * cdf_gap)) if cdf_gap else 1.0
        result.update(method="ks", p_value=p_value)
    else:
        result["method"], p_value = "psi+wasserstein", None
    drift = _judge(p_value, stability, distance, spec.wasserstein, spec)
    result["severity"] = worst(drift, _null_severity(result, spec), _level(out_of_range, spec.out_of_range))
    return result


def categorical_drift(reference: dict[str, Any], values: pd.Series | np.ndarray,
                      spec: MonitoringSpec) -> dict[str, Any]:
    frequencies, nulls = category_counts(values)
    return judge_categorical(reference, frequencies.index.tolist(), frequencies.to_numpy(), nulls, spec)


def reference_slots(reference: dict[str, Any]) -> np.ndarray:
    """A categorical reference's counts per slot: each listed category, its "other" bucket, then a slot for
    values it never saw (empty in the reference)."""
    return np.asarray([*reference["counts"], reference.get("other", 0), 0], dtype="float64")


def current_slots(reference: dict[str, Any], categories: list[str], counts: np.ndarray) -> np.ndarray:
    """Counts per category (as text) put into the reference's slots (see :func:`reference_slots`).

    A value outside the reference's listed categories counts as its "other" bucket when the reference had
    one (it was then among the rarer categories), else as never seen. Batch and live drift both bin so.
    """
    counts = np.asarray(counts, dtype="float64")
    listed = list(reference["categories"])
    slot = {category: i for i, category in enumerate(listed)}
    position = np.fromiter((slot.get(c, -1) for c in categories), dtype="int64", count=len(categories))
    seen = position >= 0
    known = np.bincount(position[seen], weights=counts[seen], minlength=len(listed))
    unseen = float(counts[~seen].sum())
    other_share = reference.get("other", 0) > 0
    return np.concatenate([known, [unseen if other_share else 0.0, 0.0 if other_share else unseen]])


def categorical_psi(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """PSI over the slots the reference knows: never-seen values are judged by their share, not here."""
    return psi(reference_counts[:-1], current_counts[:-1])


def judge_categorical(reference: dict[str, Any], categories: list[str], counts: np.ndarray, nulls: int,
                      spec: MonitoringSpec) -> dict[str, Any]:
    """A categorical column's drift from its counts per category (as text) and its nulls."""
    counts = np.asarray(counts, dtype="float64")
    size = int(counts.sum()) + nulls
    result: dict[str, Any] = {"kind": "categorical", "rows": size, "null_rate": float(nulls / size) if size else 0.0,
                              "reference_null_rate": reference["null_rate"]}
    listed = list(reference["categories"])
    ref_counts = reference_slots(reference)
    if not counts.sum() or not ref_counts.sum():
        return {**result, "severity": worst(_null_severity(result, spec)), "method": "none",
                "note": "no values to compare"}
    cur_counts = current_slots(reference, categories, counts)
    unseen = float(counts.sum() - cur_counts[:len(listed)].sum())
    present_rows = float(counts.sum())
    unseen_share = unseen / present_rows
    result.update(unseen_share=unseen_share, categories=listed[:30], reference_counts=ref_counts[:30].tolist(),
                  current_counts=cur_counts[:30].tolist())
    unseen_severity = _level(unseen_share, spec.unseen)
    # Never-seen values are judged by their share alone: a distance or a test would make any single one
    # decisive, since the reference gives them no mass. The rest is compared category by category.
    ref_seen, cur_seen = ref_counts[:-1], cur_counts[:-1]
    seen_rows = float(cur_seen.sum())
    if not seen_rows:
        return {**result, "psi": None, "jensen_shannon": None, "method": "unseen share",
                "severity": worst(unseen_severity, _null_severity(result, spec))}
    distance = _jensen_shannon(ref_seen, cur_seen)
    stability = categorical_psi(ref_counts, cur_counts)
    result.update(psi=stability, jensen_shannon=distance)
    if seen_rows < spec.small_sample:
        from scipy import stats

        in_reference = ref_seen > 0
        expected = ref_seen[in_reference] / ref_seen[in_reference].sum() * seen_rows
        p_value = (float(stats.chisquare(cur_seen[in_reference], expected).pvalue) if in_reference.sum() > 1
                   else 1.0)
        result.update(method="chi-square", p_value=p_value)
    else:
        result["method"], p_value = "psi+jensen-shannon", None
    drift = _judge(p_value, stability, distance, spec.jensen_shannon, spec)
    result["severity"] = worst(drift, _null_severity(result, spec), unseen_severity)
    return result


def _judge(p_value: float | None, stability: float, distance: float, distance_levels,
           spec: MonitoringSpec) -> str:
    """The effect sizes (PSI and the distance) set the severity. A small sample (``p_value`` given) must
    also pass its test: there the binned effect sizes are noisy, so only a difference the test finds real
    counts — but a significant test of a difference too small to matter never raises one on its own."""
    if p_value is not None and p_value >= spec.p_value:
        return "ok"
    return worst(_level(stability, spec.psi), _level(distance, distance_levels))


def _null_severity(result: dict[str, Any], spec: MonitoringSpec) -> str:
    rise = result["null_rate"] - result["reference_null_rate"]
    result["null_rate_increase"] = rise
    return "critical" if rise >= 2 * spec.null_rate_increase else "warning" if rise >= spec.null_rate_increase else "ok"


def dataset_drift(profile: dict[str, Any], frame: pd.DataFrame, predictions: pd.Series | None,
                  spec: MonitoringSpec) -> dict[str, Any]:
    """Every feature's drift, the predictions' drift, and the dataset's severity."""
    import pandas as pd

    features: dict[str, Any] = {}
    missing = []
    for name, reference in profile["features"].items():
        if name not in frame.columns:
            missing.append(name)
            continue
        column = frame[name]
        if reference["kind"] == "numeric":
            features[name] = numeric_drift(reference, pd.to_numeric(column, errors="coerce").to_numpy(
                dtype="float64", na_value=np.nan), spec)
        else:
            features[name] = categorical_drift(reference, column, spec)
    prediction = None
    if predictions is not None and profile.get("prediction"):
        reference = profile["prediction"]
        prediction = (numeric_drift(reference, pd.to_numeric(predictions, errors="coerce").to_numpy(
            dtype="float64", na_value=np.nan), spec) if reference["kind"] == "numeric"
            else categorical_drift(reference, predictions, spec))
    return summarize(features, prediction, missing, spec)


def summarize(features: dict[str, Any], prediction: dict[str, Any] | None, missing: list[str],
              spec: MonitoringSpec) -> dict[str, Any]:
    """The dataset's verdict from its features' (and predictions') drift: features ranked by drift."""
    judged = [f for f in features.values() if f.get("method") != "none"]
    drifted = [f for f in judged if f["severity"] != "ok"]
    share = len(drifted) / len(judged) if judged else 0.0
    severity = _level(share, spec.drift_share) if drifted else "ok"
    if prediction is not None and prediction["severity"] == "critical":
        severity = "critical"
    ranked = sorted(features, key=lambda n: (SEVERITIES.index(features[n]["severity"]),
                                             features[n].get("psi") or 0), reverse=True)
    return {"severity": severity, "drifted_share": share, "drifted": [n for n in ranked if features[n]["severity"]
                                                                       != "ok"],
            "features": {n: features[n] for n in ranked}, "prediction": prediction, "missing_columns": missing}
