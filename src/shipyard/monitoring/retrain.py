"""Drift-triggered retraining: rerun the model's pipeline on its data source as it is now.

The new version goes through the same gates and, with a ``deployment:`` section, the
same rollout; a rejected version is recorded like any other. A cooldown keeps a
persistent drift from starting a retrain on every check, and every trigger, skip and
result is an audit event that names the drift report.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import select

from shipyard.config import Settings, load_settings
from shipyard.errors import ShipyardError
from shipyard.governance.audit import append_event, read_events
from shipyard.pipeline.airflow_dag import default_dag_id
from shipyard.pipeline.airflow_trigger import AirflowApi, retrain_via
from shipyard.spec.monitoring import MonitoringSpec
from shipyard.store.db import session_scope
from shipyard.store.models import PipelineRun

ACTOR = "drift-monitor"


def _spec_path(model: str, settings: Settings) -> str | None:
    with session_scope(settings) as session:
        return session.scalars(select(PipelineRun.spec_path).where(
            PipelineRun.model_name == model, PipelineRun.spec_path.is_not(None))
            .order_by(PipelineRun.created_at.desc()).limit(1)).first()


def maybe_retrain(run, spec: MonitoringSpec, *, settings: Settings | None = None) -> dict[str, Any] | None:
    """Retrain when ``run`` is critical and the spec says ``retrain: auto``; what happened, or None."""
    from shipyard.pipeline import api
    from shipyard.pipeline.progress import NullReporter

    settings = settings or load_settings()
    if run.severity != "critical" or spec.retrain != "auto":
        return None
    base = {"report_id": run.id, "drifted": run.report["drifted"]}
    since = datetime.now(timezone.utc) - timedelta(seconds=spec.cooldown)
    recent = [e for e in read_events(model=run.model, since=since, settings=settings) if e.action == "retrain_triggered"]
    if recent:
        outcome = {**base, "outcome": "skipped", "reason": f"cooldown: the last retrain started "
                                                          f"{recent[-1].time:%Y-%m-%d %H:%M} UTC"}
        append_event(actor=ACTOR, action="retrain_skipped", model=run.model, version=run.version,
                     reason=outcome["reason"], details=outcome, settings=settings)
        return outcome
    path = _spec_path(run.model, settings)
    if path is None or not Path(path).exists():
        outcome = {**base, "outcome": "failed", "reason": f"no pipeline YAML to rerun for '{run.model}'"
                   + (f" ({path} is gone)" if path else "")}
        append_event(actor=ACTOR, action="retrain_failed", model=run.model, version=run.version,
                     reason=outcome["reason"], details=outcome, settings=settings)
        return outcome
    if retrain_via() == "airflow":
        return _trigger_airflow(run, base, path, settings)
    append_event(actor=ACTOR, action="retrain_triggered", model=run.model, version=run.version,
                 reason=f"drift report {run.id} is critical", details={**base, "spec_path": path}, settings=settings)
    result = api.run(path, settings=settings, reporter=NullReporter())
    registration = result.registration or {}
    new_version = str(registration["model_version"]) if registration.get("model_version") is not None else None
    gate = next((s.get("details", {}) for s in result.to_dict()["steps"] if s["name"] == "gate"), {})
    outcome = {**base, "outcome": result.status, "pipeline_run_id": result.run_id, "new_version": new_version,
               "gate": gate.get("outcome"), "deployment": gate.get("deployment")}
    if new_version == run.version:
        outcome["note"] = "the data is unchanged since that version was trained: every step came from the cache"
    append_event(actor=ACTOR, action="retrain_finished", model=run.model, version=new_version,
                 reason=f"retrain for drift report {run.id}: {result.status}", details=outcome, settings=settings)
    return outcome


def _trigger_airflow(run, base: dict[str, Any], path: str, settings: Settings) -> dict[str, Any]:
    """Start the pipeline's exported DAG on Airflow; its run records the retrain like any other run."""
    from shipyard.spec.loader import load_spec

    dag_id = default_dag_id(load_spec(path).spec.name)
    details = {**base, "spec_path": path, "executor": "airflow", "dag_id": dag_id}
    try:
        answer = AirflowApi.from_environment().trigger(
            dag_id, conf={"drift_report": run.id, "model": run.model, "version": run.version},
            note=f"shipyard retrain: drift report {run.id} is critical")
    except ShipyardError as exc:
        outcome = {**details, "outcome": "failed", "reason": exc.message}
        append_event(actor=ACTOR, action="retrain_failed", model=run.model, version=run.version,
                     reason=outcome["reason"], details=outcome, settings=settings)
        return outcome
    outcome = {**details, "outcome": "triggered", "dag_run_id": answer.get("dag_run_id")}
    append_event(actor=ACTOR, action="retrain_triggered", model=run.model, version=run.version,
                 reason=f"drift report {run.id} is critical: Airflow DAG {dag_id} run {answer.get('dag_run_id')}",
                 details=outcome, settings=settings)
    return outcome
