"""Drift reports through the API, as the monitoring plane's own dataclasses."""

from __future__ import annotations

from datetime import datetime
from itertools import islice
from typing import TYPE_CHECKING

from shipyard.client.remote import rebuild, segment
from shipyard.monitoring.runs import DriftRun, DriftSummary

if TYPE_CHECKING:
    from shipyard.client.http import ApiClient


def compute_drift(api: ApiClient, model: str, *, version: str | None, window_s: float | None,
                  since: datetime | None, until: datetime | None) -> DriftRun:
    """Judge a window of the model's logged traffic on the server; the stored report."""
    body = {"version": version, "window_s": window_s, "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None}
    return rebuild(DriftRun, api.post(f"/models/{segment(model)}/drift",
                                      {k: v for k, v in body.items() if v is not None}))


def history(api: ApiClient, model: str, *, limit: int) -> list[DriftSummary]:
    """The model's newest ``limit`` drift reports, newest first."""
    items = islice(api.pages(f"/models/{segment(model)}/drift", page_size=limit, sort="-created_at"), limit)
    return rebuild(list[DriftSummary], list(items))


def get_report(api: ApiClient, report_id: str) -> DriftRun:
    return rebuild(DriftRun, api.get(f"/drift/{segment(report_id)}"))
