"""Syncing runs logged while the tracking server was out: replay each into the server, register its
version, record the candidate, and mark the run synced.

Every part is idempotent (the replay finds its copy by ``shipyard.source_run_id``, the version is found
by its ``shipyard.pipeline_run_id`` tag, the candidate, profile and card are kept once), so a sync that
is interrupted or run twice leaves one run and one version on the server. Syncs on one machine take
turns.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from shipyard.config import Settings, load_settings
from shipyard.errors import BackendError, ShipyardError
from shipyard.store import runs as store
from shipyard.tracking.outage import (FALLBACK_FOLDER, PENDING_SYNC, SYNC_COMMAND, SYNCED, fallback_settings,
                                      is_server_uri, server_answers)

_log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class SyncedRun:
    run_id: str
    model: str
    version: str
    mlflow_run_id: str
    fallback_run_id: str


def pending_runs(*, settings: Settings | None = None) -> list[store.RunRecord]:
    """The runs whose tracking waits for sync, oldest first."""
    return store.runs_with_tracking(PENDING_SYNC, settings=settings or load_settings())


def sync_pending(*, actor: str | None = None, settings: Settings | None = None) -> list[SyncedRun]:
    """Sync every pending run into the configured tracking store; the runs synced.

    Raises :class:`BackendError` when the tracking server does not answer (nothing changes then).
    """
    from shipyard.governance.identity import current_actor
    from shipyard.tracking.backend import redact_uri
    from shipyard.tracking.setup import exclusive_lock

    settings = settings or load_settings()
    actor = actor or current_actor()
    pending = pending_runs(settings=settings)
    if not pending:
        return []
    if not server_answers(settings):
        raise BackendError(f"the MLflow server at {redact_uri(settings.mlflow_tracking_uri)} does not answer, so "
                           f"{len(pending)} run(s) stay pending-sync in {settings.home / FALLBACK_FOLDER}",
                           hint=f"start the server (or fix MLFLOW_TRACKING_URI), then run `{SYNC_COMMAND}`")
    folder = settings.home / FALLBACK_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(folder / "sync.lock"):  # read again: a sync that held the lock may have done some
        return [_sync_run(record, actor=actor, settings=settings) for record in pending_runs(settings=settings)]


def sync_if_server_answers(*, settings: Settings, notice: Callable[[str], None]) -> list[SyncedRun]:
    """Sync pending runs when MLflow is a server that answers; never contacts anything for a local store."""
    if not is_server_uri(settings.mlflow_tracking_uri) or not pending_runs(settings=settings):
        return []
    try:
        synced = sync_pending(settings=settings)
    except ShipyardError as exc:
        notice(f"runs logged while MLflow was out stay pending-sync: {exc.message}")
        return []
    for run in synced:
        notice(f"synced run {run.run_id} to MLflow (run {run.mlflow_run_id}): {run.model} version {run.version}")
    return synced


def _drop_partial_runs(pipeline_run_id: str, experiment_id: str, settings: Settings) -> None:
    """Delete what a run left on the server when the server failed while it was logged: a run of this
    pipeline run that never finished and is no replayed copy."""
    from mlflow.tracking import MlflowClient

    from shipyard.registry.versions import filter_literal
    from shipyard.tracking.replay import SOURCE_RUN_TAG

    client = MlflowClient(tracking_uri=settings.mlflow_tracking_uri)
    for run in client.search_runs([experiment_id],
                                  f"tags.`shipyard.pipeline_run_id` = {filter_literal(pipeline_run_id)}"):
        if SOURCE_RUN_TAG not in run.data.tags and run.info.status != "FINISHED":
            client.delete_run(run.info.run_id)


def _sync_run(record: store.RunRecord, *, actor: str, settings: Settings) -> SyncedRun:
    from shipyard.pipeline.candidate import record_candidate, stored_profile
    from shipyard.registry.registration import LoggedModelFiles, find_registered_version, register_logged_model
    from shipyard.spec.loader import parse_spec
    from shipyard.tracking.backend import mlflow_errors, quiet_mlflow
    from shipyard.tracking.replay import replay_run
    from shipyard.tracking.setup import configure_mlflow

    registration = record.result["registration"]
    pending = registration["pending_version"]
    model_name, fallback_run_id = registration["model_name"], registration["mlflow_run_id"]
    spec = parse_spec(record.spec_text, source=record.spec_path or "pipeline.yaml").spec
    replayed = replay_run(fallback_run_id, source=fallback_settings(settings), target=settings,
                          model_id=pending["model_id"])
    configure_mlflow(settings)
    with mlflow_errors(settings, f"registering the version of run {record.id}"), quiet_mlflow():
        _drop_partial_runs(record.id, replayed.experiment_id, settings)
        version = find_registered_version(model_name, record.id)
        if version is None:
            logged = LoggedModelFiles(model_id=replayed.model_id, model_uri=f"models:/{replayed.model_id}",
                                      sha256=pending["sha256"], files_manifest=pending["files_manifest"])
            version = register_logged_model(logged, model_name=model_name, run_id=replayed.run_id,
                                            description=pending["description"],
                                            version_tags=pending["version_tags"])
    number = str(version.version)
    facts = record_candidate(spec=spec, model_name=model_name, version=number, mlflow_run_id=replayed.run_id,
                             pipeline_run_id=record.id, started_by=record.started_by,
                             digests=registration["data_digests"],
                             profile=stored_profile(registration["reference_profile"], settings=settings),
                             card_facts=registration["card_facts"], actor=actor, settings=settings,
                             feature_spec=registration.get("feature_spec"))
    synced = {**registration, "mlflow_run_id": replayed.run_id, "experiment_id": replayed.experiment_id,
              "model_version": number, "model_uri": f"models:/{model_name}/{number}", "card_facts": facts,
              "tracking": SYNCED, "fallback_run_id": fallback_run_id, "pending_version": None}
    store.update_run(record.id, result={**record.result, "registration": synced, "tracking": SYNCED},
                     mlflow_run_id=replayed.run_id, model_name=model_name, model_version=number, settings=settings)
    _log.info("synced run %s: %s version %s", record.id, model_name, number)
    return SyncedRun(run_id=record.id, model=model_name, version=number, mlflow_run_id=replayed.run_id,
                     fallback_run_id=fallback_run_id)
