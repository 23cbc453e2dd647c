"""A stable version's prediction baseline: what it predicted across the fleet over its first day of traffic.

The watch's holder builds it from the fleet's windows as they pass: it starts with the first
window that has traffic, then adds the fleet's window each time a whole window has gone by since
the last one it added, so the day is counted as back-to-back windows, none twice. It is kept in
the store with the watch (``stable_watches.baseline``), so a restarted gateway, or another one
taking the watch over, goes on with the same baseline. Prediction shift is judged against it only
once it is complete: the day is over and it holds at least ``min_requests`` predictions.
"""

from __future__ import annotations

from typing import Any

from shipyard.serving.rollout import Window


def extended(baseline: dict[str, Any] | None, window: Window, *, now: float, window_s: float, day_s: float,
             min_requests: int) -> dict[str, Any] | None:
    """The baseline after the fleet's ``window`` ending at ``now`` (a Unix time); ``baseline`` itself when
    nothing changed (None until the version's first traffic)."""
    if baseline is None or "started_at" not in baseline:
        if not window.requests:
            return None
        return {"started_at": now, "added_until": now, "requests": window.requests, "labels": dict(window.labels),
                "complete": False}
    if baseline.get("complete"):
        return baseline
    grown = dict(baseline)
    day_over = now >= baseline["started_at"] + day_s
    if now - baseline["added_until"] >= window_s and (not day_over or baseline["requests"] < min_requests):
        labels = dict(baseline["labels"])
        for label, count in window.labels.items():
            labels[label] = labels.get(label, 0) + count
        grown.update(added_until=now, requests=baseline["requests"] + window.requests, labels=labels)
    grown["complete"] = day_over and grown["requests"] >= min_requests
    return grown if grown != baseline else baseline


def judged_against(baseline: dict[str, Any] | None) -> Window | None:
    """The window prediction shift is judged against: the complete baseline, else none yet."""
    if not baseline or not baseline.get("complete"):
        return None
    return Window(requests=int(baseline["requests"]), errors=0, p99_ms=None, labels=dict(baseline["labels"]))
