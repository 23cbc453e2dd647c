"""A drift run: one model version's logged traffic in a window against its reference profile."""

from __future__ import annotations

import difflib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, select, union

from shipyard.config import Settings, load_settings
from shipyard.errors import DataError, NotEnoughDataError, NotFoundError, UsageError
from shipyard.governance.directory import model_team
from shipyard.governance.identity import current_identity
from shipyard.governance.policy import authorize
from shipyard.monitoring.drift import dataset_drift, worst
from shipyard.monitoring.references import load_profile
from shipyard.monitoring.window import read_window
from shipyard.store.db import session_scope
from shipyard.store.models import Deployment, DriftReport, ModelVersionState, ReferenceProfile


@dataclass(frozen=True)
class DriftRun:
    id: str
    model: str
    version: str
    severity: str
    rows: int
    window_start: datetime
    window_end: datetime
    created_at: datetime
    report: dict[str, Any]

    def summary(self) -> DriftSummary:
        return DriftSummary(id=self.id, model=self.model, version=self.version, severity=self.severity,
                            rows=self.rows, window_start=self.window_start, window_end=self.window_end,
                            created_at=self.created_at, drifted=tuple(self.report.get("drifted", ())))


@dataclass(frozen=True)
class DriftSummary:
    """A drift run without its full report, as a history lists it."""

    id: str
    model: str
    version: str
    severity: str
    rows: int
    window_start: datetime
    window_end: datetime
    created_at: datetime
    drifted: tuple[str, ...]


def _run(row: DriftReport) -> DriftRun:
    return DriftRun(id=row.id, model=row.model, version=row.version, severity=row.severity, rows=row.rows,
                    window_start=row.window_start, window_end=row.window_end, created_at=row.created_at,
                    report=row.report)


def known_models(*, settings: Settings | None = None) -> list[str]:
    """Every model name the store knows: registered versions, deployments and reference profiles."""
    query = union(select(ModelVersionState.model), select(Deployment.model), select(ReferenceProfile.model))
    with session_scope(settings) as session:
        return sorted(session.scalars(query))


def require_model(model: str, *, settings: Settings | None = None) -> None:
    """Refuse a model name the store has never heard of, naming the nearest known ones."""
    known = known_models(settings=settings)
    if model in known:
        return
    near = difflib.get_close_matches(model, known, n=3, cutoff=0.6)
    if near:
        hint = "did you mean " + " or ".join(f"'{n}'" for n in near) + "?"
    elif known:
        hint = f"known models: {', '.join(known[:10])}" + (" …" if len(known) > 10 else "")
    else:
        hint = "no model is registered yet; register one with: shipyard run PIPELINE_YAML"
    raise NotFoundError(f"there is no model '{model}'", hint=hint)


def served_version(model: str, *, settings: Settings | None = None) -> str:
    """The version whose traffic is judged by default: the deployment's stable arm, else production."""
    from shipyard.registry.lifecycle import production_version
    from shipyard.serving.deployments import find_deployment

    deployment = find_deployment(model, settings=settings)
    version = (deployment.stable_version if deployment else None) or production_version(model, settings=settings)
    if version is None:
        raise NotFoundError(f"model '{model}' is neither deployed nor in production, so no version is being served",
                            hint=f"name one: shipyard monitor {model} --version N")
    return version


def compute_drift(model: str, *, version: str | None = None, window_s: float | None = None,
                  since: datetime | None = None, until: datetime | None = None,
                  settings: Settings | None = None) -> DriftRun:
    """Judge the window's logged inputs and predictions of ``version``; the report is stored."""
    settings = settings or load_settings()
    require_model(model, settings=settings)
    authorize(current_identity(), "drift.compute", team=model_team(model, settings=settings))
    version = str(version) if version else served_version(model, settings=settings)
    profile, spec, digest = load_profile(model, version, settings=settings)
    end = until or datetime.now(timezone.utc)
    start = since or end - timedelta(seconds=window_s or spec.window)
    if start >= end:
        raise UsageError(f"the window starts ({start:%Y-%m-%d %H:%M}) after it ends ({end:%Y-%m-%d %H:%M})")
    window = read_window(settings.prediction_log_root, model, start=start, end=end, version=version)
    rows = len(window.frame)
    where = f"{model} version {version} between {start:%Y-%m-%d %H:%M:%S} and {end:%Y-%m-%d %H:%M:%S} UTC"
    skipped = (f"; {len(window.skipped)} unreadable file(s) skipped: "
               + ", ".join(s["file"] for s in window.skipped[:3])) if window.skipped else ""
    if rows < spec.min_rows:
        raise NotEnoughDataError(f"{rows} prediction(s) logged for {where} ({window.files} file(s) read{skipped}); "
                           f"at least {spec.min_rows} are needed to judge drift",
                           hint="widen the window (--window 24h, --since) or wait for more traffic")
    features = window.features()
    if not set(profile["features"]) & set(features.columns):
        raise DataError(f"the prediction log for {where} has none of the version's input columns "
                        f"({', '.join(list(profile['features'])[:8])})",
                        hint="the log was written by a gateway serving a different signature")
    result = dataset_drift(profile, features, window.frame.get("prediction"), spec)
    if result["missing_columns"]:
        result["severity"] = worst(result["severity"], "warning")
    report = {"model": model, "version": version, "window": {"start": start.isoformat(), "end": end.isoformat()},
              "rows": rows, "files": window.files, "skipped_files": window.skipped, "profile": digest,
              "reference_rows": profile["rows"], "thresholds": spec.model_dump(mode="json"), **result}
    now = datetime.now(timezone.utc)
    row = DriftReport(id=uuid.uuid4().hex[:16], model=model, version=version, window_start=start, window_end=end,
                      rows=rows, severity=result["severity"], report=report, created_at=now)
    with session_scope(settings) as session:
        session.add(row)
        session.flush()
        return _run(row)


def history(model: str, *, limit: int = 20, settings: Settings | None = None) -> list[DriftRun]:
    with session_scope(settings) as session:
        rows = session.scalars(select(DriftReport).where(DriftReport.model == model)
                               .order_by(DriftReport.created_at.desc()).limit(limit))
        return [_run(r) for r in rows]


def page_history(model: str, *, severity: str | None = None, version: str | None = None, descending: bool = True,
                 offset: int = 0, limit: int = 50, settings: Settings | None = None) -> tuple[list[DriftRun], int]:
    """One page of a model's drift reports by time, and how many match in all."""
    conditions = [DriftReport.model == model]
    if severity is not None:
        conditions.append(DriftReport.severity == severity)
    if version is not None:
        conditions.append(DriftReport.version == version)
    order = DriftReport.created_at.desc() if descending else DriftReport.created_at.asc()
    with session_scope(settings) as session:
        total = session.scalar(select(func.count()).select_from(DriftReport).where(*conditions))
        rows = session.scalars(select(DriftReport).where(*conditions).order_by(order, DriftReport.id)
                               .offset(offset).limit(limit))
        return [_run(r) for r in rows], int(total or 0)


def get_report(report_id: str, *, settings: Settings | None = None) -> DriftRun:
    with session_scope(settings) as session:
        row = session.get(DriftReport, report_id)
        if row is None:
            raise NotFoundError(f"there is no drift report '{report_id}'", hint="shipyard monitor history MODEL")
        return _run(row)
