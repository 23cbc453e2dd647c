"""Webhook alerts: a model's drift severity changing (retried, de-duplicated, every one stored), the page
sent when a stable version breaches its service levels with no earlier version to roll back to, and the
notification that the paged breach is over."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, select

from shipyard.config import Settings
from shipyard.governance.directory import model_team
from shipyard.monitoring.drift import SEVERITIES
from shipyard.spec.monitoring import MonitoringSpec, Webhook
from shipyard.store.db import session_scope
from shipyard.store.models import DriftAlert

DRIFT_ALERTNAME = "ShipyardDriftSeverity"
DRIFT_ALERT_VALIDITY = timedelta(hours=24)
SLO_ALERTNAME = "ShipyardStableVersionBreach"
SLO_ALERT_VALIDITY = timedelta(hours=1)
UNOWNED = "unowned"
"""The ``team`` label of a model no team owns (Alertmanager's routes send it to the platform's receivers)."""


@dataclass(frozen=True)
class Alert:
    id: str
    model: str
    report_id: str
    target: str
    severity: str
    previous_severity: str | None
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime


def _alert(row: DriftAlert) -> Alert:
    return Alert(id=row.id, model=row.model, report_id=row.report_id, target=row.target, severity=row.severity,
                 previous_severity=row.previous_severity, status=row.status, attempts=row.attempts,
                 last_error=row.last_error, created_at=row.created_at)


def payload(run, previous: str, hook: Webhook, *, settings: Settings | None = None) -> dict[str, Any] | list:
    report = run.report
    top = {name: {"severity": f["severity"], "psi": f.get("psi")} for name, f in list(report["features"].items())[:10]}
    if hook.format == "slack":
        icon = {"ok": ":white_check_mark:", "warning": ":warning:", "critical": ":rotating_light:"}[run.severity]
        drifted = ", ".join(report["drifted"][:8]) or "no feature"
        return {"text": f"{icon} *{run.model}* v{run.version} drift is *{run.severity}* (was {previous}): "
                        f"{drifted} drifted over {report['rows']:,} rows. "
                        f"`shipyard monitor show {run.id}`"}
    if hook.format == "alertmanager":
        return alertmanager_alerts(run, previous, team=model_team(run.model, settings=settings) or UNOWNED)
    return {"event": "shipyard.drift.severity_changed", "model": run.model, "version": run.version,
            "severity": run.severity, "previous_severity": previous, "report_id": run.id,
            "window": report["window"], "rows": report["rows"], "drifted": report["drifted"], "features": top}


def alertmanager_alerts(run, previous: str, *, team: str) -> list[dict[str, Any]]:
    """Alertmanager's postable alerts for a severity change: the new severity firing (unless ok), the
    previous one resolved (unless ok). A firing alert lasts ``DRIFT_ALERT_VALIDITY`` unless a later
    change resolves it sooner; Alertmanager does the routing, grouping, de-duplication and silences."""
    now = datetime.now(timezone.utc)
    report = run.report
    drifted = ", ".join(report["drifted"][:8]) or "no feature"

    def alert(severity: str, ends: datetime) -> dict[str, Any]:
        return {"labels": {"alertname": DRIFT_ALERTNAME, "severity": severity, "team": team, "model": run.model,
                           "version": str(run.version)},
                "annotations": {"summary": f"{run.model} v{run.version}: drift is {run.severity} (was {previous})",
                                "description": f"{drifted} drifted over {report['rows']:,} rows in the window "
                                               f"{report['window']['start']} to {report['window']['end']}",
                                "report_id": run.id, "command": f"shipyard monitor show {run.id}"},
                "startsAt": now.isoformat(), "endsAt": ends.isoformat()}

    alerts = []
    if run.severity != "ok":
        alerts.append(alert(run.severity, now + DRIFT_ALERT_VALIDITY))
    if previous != "ok":
        alerts.append(alert(previous, now))
    return alerts


def slo_page(model: str, version: str, reasons: list[str], *, team: str, page_format: str,
             why_not_rolled_back: str) -> dict[str, Any] | list:
    """The page for a stable version breaching its service levels that could not be rolled back."""
    summary = f"{model} v{version} breaches its service levels and was not rolled back"
    description = f"{'; '.join(reasons)} across the fleet; not rolled back: {why_not_rolled_back}"
    command = f"shipyard traffic show {model}"
    if page_format == "slack":
        return {"text": f":rotating_light: *{model}* v{version}: {description}. `{command}`"}
    if page_format == "alertmanager":
        now = datetime.now(timezone.utc)
        return [{"labels": {"alertname": SLO_ALERTNAME, "severity": "critical", "team": team, "model": model,
                            "version": str(version)},
                 "annotations": {"summary": summary, "description": description, "command": command},
                 "startsAt": now.isoformat(), "endsAt": (now + SLO_ALERT_VALIDITY).isoformat()}]
    return {"event": "shipyard.slo.breached", "model": model, "version": str(version), "team": team,
            "reasons": reasons, "not_rolled_back": why_not_rolled_back}


def slo_resolved(model: str, version: str, *, team: str, page_format: str, paged_at: datetime,
                 measured: dict[str, Any]) -> dict[str, Any] | list:
    """The notification that a paged breach is over: the same alert resolved (``endsAt`` now) for Alertmanager,
    a resolved event or message otherwise."""
    summary = f"{model} v{version} is back within its service levels"
    fleet = measured.get("fleet") or {}
    description = (f"across the fleet: {fleet.get('requests', 0)} requests, error rate "
                   f"{fleet.get('error_rate', 0.0):.2%} in the last {measured.get('window_s', 0):g} s")
    command = f"shipyard traffic show {model}"
    if page_format == "slack":
        return {"text": f":white_check_mark: *{model}* v{version} is back within its service levels "
                        f"({description}). `{command}`"}
    if page_format == "alertmanager":
        now = datetime.now(timezone.utc)
        return [{"labels": {"alertname": SLO_ALERTNAME, "severity": "critical", "team": team, "model": model,
                            "version": str(version)},
                 "annotations": {"summary": summary, "description": description, "command": command},
                 "startsAt": paged_at.astimezone(timezone.utc).isoformat(), "endsAt": now.isoformat()}]
    return {"event": "shipyard.slo.resolved", "model": model, "version": str(version), "team": team,
            "paged_at": paged_at.astimezone(timezone.utc).isoformat(), "fleet": fleet}


def deliver(url: str, body: dict[str, Any] | list, *, attempts: int, backoff_s: float,
             timeout_s: float) -> tuple[bool, int, str | None]:
    import httpx

    error = None
    for attempt in range(1, attempts + 1):
        try:
            response = httpx.post(url, json=body, timeout=timeout_s)
            if response.is_success:
                return True, attempt, None
            error = f"HTTP {response.status_code}: {response.text[:200]}"
            if 400 <= response.status_code < 500 and response.status_code not in (408, 429):
                return False, attempt, error  # the receiver refuses this payload: retrying cannot help
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        if attempt < attempts:
            time.sleep(backoff_s * 2 ** (attempt - 1))
    return False, attempts, error


def notify(run, previous_severity: str | None, spec: MonitoringSpec, *, settings: Settings | None = None,
           attempts: int = 3, backoff_s: float = 0.5, timeout_s: float = 5.0) -> list[Alert]:
    """Send ``run``'s severity to each webhook that cares, if it changed; a report is never sent twice."""
    previous = previous_severity or "ok"
    if run.severity == previous:
        return []
    sent = []
    for hook in spec.webhooks:
        level = max(SEVERITIES.index(run.severity), SEVERITIES.index(previous))
        if level < SEVERITIES.index(hook.min_severity):
            continue
        with session_scope(settings) as session:
            done = session.scalars(select(DriftAlert).where(DriftAlert.report_id == run.id,
                                                            DriftAlert.target == hook.url)).first()
            if done is not None:
                continue
        body = payload(run, previous, hook, settings=settings)
        delivered, tries, error = deliver(hook.url, body, attempts=attempts, backoff_s=backoff_s,
                                           timeout_s=timeout_s)
        row = DriftAlert(id=uuid.uuid4().hex[:16], model=run.model, report_id=run.id, target=hook.url,
                         severity=run.severity, previous_severity=previous,
                         status="delivered" if delivered else "failed", attempts=tries, last_error=error,
                         payload=body, created_at=datetime.now(timezone.utc))
        with session_scope(settings) as session:
            session.add(row)
        sent.append(_alert(row))
    return sent


def list_alerts(model: str, *, limit: int = 50, settings: Settings | None = None) -> list[Alert]:
    with session_scope(settings) as session:
        return [_alert(r) for r in session.scalars(select(DriftAlert).where(DriftAlert.model == model)
                                                   .order_by(DriftAlert.created_at.desc()).limit(limit))]


def page_alerts(model: str, *, status: str | None = None, offset: int = 0, limit: int = 50,
                settings: Settings | None = None) -> tuple[list[Alert], int]:
    """One page of a model's alerts, newest first, and how many match in all."""
    conditions = [DriftAlert.model == model]
    if status is not None:
        conditions.append(DriftAlert.status == status)
    with session_scope(settings) as session:
        total = session.scalar(select(func.count()).select_from(DriftAlert).where(*conditions))
        rows = session.scalars(select(DriftAlert).where(*conditions)
                               .order_by(DriftAlert.created_at.desc(), DriftAlert.id).offset(offset).limit(limit))
        return [_alert(r) for r in rows], int(total or 0)
