"""The drift gate: a candidate's training data against recent production traffic.

The candidate's reference profile (its training inputs, stored at registration) is judged
against the inputs the production arms of the gateway logged in the window, with the same
statistics and thresholds as ``shipyard monitor``. The score is the share of features that
drifted; a score above the spec's threshold rejects the candidate.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from shipyard.config import Settings
from shipyard.errors import NotFoundError
from shipyard.registry.gates import GateResult
from shipyard.spec.promotion import DriftGate

LIVE_ARMS = ("stable", "canary", "ab")
"""Arms whose answers callers received; the shadow arm's are mirrored copies of the same requests."""

_DISTANCES = ("wasserstein", "jensen_shannon")


def drift_gate(gate: DriftGate, model: str, version: str, *, settings: Settings,
               now: datetime | None = None) -> GateResult:
    from shipyard.monitoring.drift import dataset_drift
    from shipyard.monitoring.references import load_profile
    from shipyard.monitoring.window import read_window

    end = now or datetime.now(timezone.utc)
    start = end - timedelta(seconds=gate.window)
    span = _span(gate.window)
    details: dict[str, Any] = {"window": {"start": start.isoformat(), "end": end.isoformat()},
                               "arms": list(LIVE_ARMS), "threshold": gate.threshold}
    try:
        profile, monitoring, digest = load_profile(model, version, settings=settings)
    except NotFoundError as exc:
        return GateResult(gate="drift", name="no reference profile to compare with production traffic",
                          passed=False, threshold=gate.threshold, reason=exc.message, details=details)
    details["profile"] = digest
    window = read_window(settings.prediction_log_root, model, start=start, end=end, arms=LIVE_ARMS)
    rows = len(window.frame)
    details.update(rows=rows, files=window.files, skipped_files=window.skipped)
    if rows < gate.min_rows:
        why = ("no production traffic was logged" if rows == 0 else
               f"only {rows} production prediction(s) were logged, fewer than the {gate.min_rows} needed")
        return GateResult(gate="drift", name=f"skipped: no production traffic to compare with in the last {span}",
                          passed=True, measured=None, threshold=gate.threshold,
                          reason=f"{why} for {model} in the last {span} (a first version has none yet)",
                          details={**details, "skipped": True})
    result = dataset_drift(profile, window.features(), None, monitoring)
    table = feature_table(result["features"])
    score = result["drifted_share"]
    passed = score <= gate.threshold
    drifted = [row for row in table if row["severity"] != "ok"]
    listed = ", ".join(f"{r['feature']} ({r['severity']}, PSI {r['psi']:.3f})" if r["psi"] is not None
                       else f"{r['feature']} ({r['severity']})" for r in drifted) or "none"
    missing = result["missing_columns"]
    reason = (f"{len(drifted)} of {len(table)} features drifted between the training data and {rows} production "
              f"rows of the last {span}: {listed}" + (f"; not in the traffic: {', '.join(missing)}" if missing else ""))
    verdict = "within" if passed else "above"
    return GateResult(gate="drift", name=f"dataset drift {score:.2f} {verdict} the {gate.threshold:g} threshold "
                                         f"against {span} of production traffic",
                      passed=passed, measured=round(score, 4), threshold=gate.threshold, reason=reason,
                      details={**details, "skipped": False, "features": table, "missing_columns": missing})


def feature_table(features: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per feature, most drifted first: the statistics that judged it, without the bins."""
    rows = []
    for name, judged in features.items():
        distance = next((d for d in _DISTANCES if judged.get(d) is not None), None)
        share = judged.get("out_of_range", judged.get("unseen_share"))
        rows.append({"feature": name, "kind": judged["kind"], "severity": judged["severity"],
                     "psi": _rounded(judged.get("psi")), "distance": distance,
                     "distance_value": _rounded(judged.get(distance)) if distance else None,
                     "outside_training": _rounded(share), "null_rate_increase": _rounded(
                         judged.get("null_rate_increase")), "method": judged.get("method"), "rows": judged["rows"]})
    return rows


def table_lines(result: dict[str, Any]) -> list[tuple[str, str]]:
    """The drift gate's feature table as (feature, judgement) pairs, for the model card."""
    lines = []
    for row in result.get("details", {}).get("features", []):
        parts = [row["severity"], f"{row['kind']}"]
        if row["psi"] is not None:
            parts.append(f"PSI {row['psi']:.3f}")
        if row["distance"]:
            parts.append(f"{row['distance'].replace('_', '-')} {row['distance_value']:.3f}")
        if row["outside_training"]:
            parts.append(f"{row['outside_training']:.1%} outside training")
        lines.append((row["feature"], ", ".join(parts) + f" ({row['rows']} rows)"))
    return lines


def _rounded(value: Any) -> float | None:
    return None if value is None else round(float(value), 4)


def _span(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} s"
