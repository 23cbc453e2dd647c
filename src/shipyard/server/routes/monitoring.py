"""Drift reports, their history and the alerts they sent."""

from __future__ import annotations

from dataclasses import asdict
from typing import Literal

from fastapi import APIRouter, Depends, Query

from shipyard.config import Settings
from shipyard.server.auth import Caller, caller
from shipyard.server.pagination import Page, Window, parse_sort, sort_query, window
from shipyard.server.problems import problem_responses
from shipyard.server.schemas import AlertOut, DriftIn, DriftReportOut, DriftSummary, Severity
from shipyard.server.settings import app_settings

router = APIRouter(tags=["monitoring"])


def drift_summary(run) -> dict:
    return asdict(run.summary())


@router.get("/models/{model}/drift", response_model=Page[DriftSummary], summary="A model's drift reports",
            responses=problem_responses(400, 401, 403, 404, 422, 503))
def drift_history(model: str, severity: Severity | None = None,
                  version: str | None = Query(None, pattern=r"^[0-9]+$"),
                  sort: str = sort_query("-created_at", ("created_at",)),
                  page: Window = Depends(window), who: Caller = Depends(caller),
                  settings: Settings = Depends(app_settings)) -> dict:
    from shipyard.monitoring.runs import page_history, require_model

    order = parse_sort(sort, ("created_at",))
    with who.acting():
        require_model(model, settings=settings)
        runs, total = page_history(model, severity=severity, version=version, descending=order.descending,
                                   offset=page.offset, limit=page.limit, settings=settings)
    return page.page([drift_summary(r) for r in runs], total)


@router.post("/models/{model}/drift", response_model=DriftReportOut, status_code=201,
             summary="Judge a window of the model's logged traffic now; the report is stored",
             responses=problem_responses(400, 401, 403, 404, 409, 422, 503))
def compute_drift(model: str, body: DriftIn, who: Caller = Depends(caller),
                  settings: Settings = Depends(app_settings)) -> dict:
    from shipyard.monitoring.runs import compute_drift as compute

    with who.acting():
        run = compute(model, version=body.version, window_s=body.window_s, since=body.since, until=body.until,
                      settings=settings)
    return drift_summary(run) | {"report": run.report}


@router.get("/drift/{report_id}", response_model=DriftReportOut, summary="One drift report in full",
            responses=problem_responses(401, 403, 404, 503))
def show_drift(report_id: str, who: Caller = Depends(caller), settings: Settings = Depends(app_settings)) -> dict:
    from shipyard.monitoring.runs import get_report

    with who.acting():
        run = get_report(report_id, settings=settings)
    return drift_summary(run) | {"report": run.report}


@router.get("/models/{model}/alerts", response_model=Page[AlertOut],
            summary="Alerts sent on the model's drift severity changes, newest first",
            responses=problem_responses(401, 403, 404, 422, 503))
def alerts(model: str, status: Literal["delivered", "failed"] | None = None, page: Window = Depends(window),
           who: Caller = Depends(caller), settings: Settings = Depends(app_settings)) -> dict:
    from shipyard.monitoring.alerts import page_alerts
    from shipyard.monitoring.runs import require_model

    with who.acting():
        require_model(model, settings=settings)
        found, total = page_alerts(model, status=status, offset=page.offset, limit=page.limit, settings=settings)
    return page.page([asdict(a) for a in found], total)
