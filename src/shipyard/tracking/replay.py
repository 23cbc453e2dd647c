"""Copying a run logged in the fallback store into the tracking server, exactly once.

A replayed run gets the original's name, start and end times, status, tags, params, metric
histories (values, steps, timestamps), dataset inputs with their digests, artifacts and logged
model (byte for byte, so every digest stays the same), and the tag ``shipyard.source_run_id``
naming the run it copies. Sweep trials (child runs) come along under the new parent. A copy is
looked up by that tag before anything is created; one left unfinished by an interrupted replay
is deleted and made again, so replaying twice leaves one copy.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass

from shipyard.config import Settings

SOURCE_RUN_TAG = "shipyard.source_run_id"
LOGGED_MODEL_TAG = "shipyard.logged_model_id"
"""On a replayed run: the id its logged model got on the server."""
_BATCH = 100
_NOT_COPIED = ("mlflow.runName", "mlflow.parentRunId", "mlflow.log-model.history")


@dataclass(frozen=True, kw_only=True)
class ReplayedRun:
    run_id: str
    experiment_id: str
    model_id: str | None
    created: bool
    """False when the run was on the server already."""


def _client(uri: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _find_copy(client, experiment_id: str, source_run_id: str):
    from shipyard.registry.versions import filter_literal

    runs = client.search_runs([experiment_id], f"tags.`{SOURCE_RUN_TAG}` = {filter_literal(source_run_id)}")
    return list(runs)


def _chunks(items: list, size: int = _BATCH):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _copy_metrics(source, target, source_run, run_id: str) -> None:
    from mlflow.entities import Metric

    history = {(m.key, m.value, m.timestamp, m.step) for key in source_run.data.metrics
               for m in source.get_metric_history(source_run.info.run_id, key)}
    metrics = [Metric(key, value, timestamp, step) for key, value, timestamp, step in sorted(history)]
    for batch in _chunks(metrics, 1000):
        target.log_batch(run_id, metrics=batch)


def _copy_artifacts(source, source_run, target, run_id: str) -> None:
    import mlflow.artifacts

    if not source.list_artifacts(source_run.info.run_id):
        return
    source_uri = source_run.info.artifact_uri
    with tempfile.TemporaryDirectory() as tmp:
        folder = mlflow.artifacts.download_artifacts(artifact_uri=source_uri, dst_path=tmp)
        target.log_artifacts(run_id, folder)


def _copy_logged_model(source, target, model_id: str, *, experiment_id: str, run_id: str) -> str:
    import mlflow.artifacts
    from mlflow.entities import LoggedModelOutput, LoggedModelStatus, Metric
    from mlflow.utils.mlflow_tags import MLFLOW_MODEL_VERSIONS

    logged = source.get_logged_model(model_id)
    tags = {k: v for k, v in logged.tags.items() if k != MLFLOW_MODEL_VERSIONS}
    copy = target.create_logged_model(experiment_id, name=logged.name, source_run_id=run_id, tags=tags,
                                      params=logged.params, model_type=logged.model_type)
    with tempfile.TemporaryDirectory() as tmp:
        folder = mlflow.artifacts.download_artifacts(artifact_uri=logged.artifact_location, dst_path=tmp)
        target.log_model_artifacts(copy.model_id, folder)
    target.finalize_logged_model(copy.model_id, LoggedModelStatus.READY)
    target.log_outputs(run_id, [LoggedModelOutput(copy.model_id, 0)])
    linked = [Metric(m.key, m.value, m.timestamp, m.step, run_id=run_id, model_id=copy.model_id)
              for m in logged.metrics or []]
    for batch in _chunks(linked, 1000):
        target.log_batch(run_id, metrics=batch)
    return copy.model_id


def _copy_run(source, target, source_run, *, experiment_id: str, parent_id: str | None,
              model_id: str | None) -> tuple[str, str | None]:
    from mlflow.entities import Param
    from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

    info = source_run.info
    tags = {k: v for k, v in source_run.data.tags.items() if k not in _NOT_COPIED}
    tags[SOURCE_RUN_TAG] = info.run_id
    if parent_id is not None:
        tags[MLFLOW_PARENT_RUN_ID] = parent_id
    run = target.create_run(experiment_id, start_time=info.start_time, tags=tags, run_name=info.run_name)
    run_id = run.info.run_id
    for batch in _chunks([Param(k, v) for k, v in sorted(source_run.data.params.items())]):
        target.log_batch(run_id, params=batch)
    _copy_metrics(source, target, source_run, run_id)
    if source_run.inputs and source_run.inputs.dataset_inputs:
        target.log_inputs(run_id, datasets=list(source_run.inputs.dataset_inputs))
    _copy_artifacts(source, source_run, target, run_id)
    copied_model = None
    if model_id is not None:
        copied_model = _copy_logged_model(source, target, model_id, experiment_id=experiment_id, run_id=run_id)
        target.set_tag(run_id, LOGGED_MODEL_TAG, copied_model)
    return run_id, copied_model


def _children(client, experiment_id: str, run_id: str) -> list:
    from shipyard.registry.versions import filter_literal

    return list(client.search_runs([experiment_id], f"tags.`mlflow.parentRunId` = {filter_literal(run_id)}"))


def _finish(target, run_id: str, source_run) -> None:
    target.set_terminated(run_id, status=source_run.info.status, end_time=source_run.info.end_time)


def replay_run(source_run_id: str, *, source: Settings, target: Settings, model_id: str | None = None
               ) -> ReplayedRun:
    """Copy the run ``source_run_id`` of the ``source`` store (and its logged model ``model_id``, and its
    child runs) into the ``target`` store; the copy already there when a previous replay finished."""
    from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

    from shipyard.tracking.backend import mlflow_errors, quiet_mlflow
    from shipyard.tracking.setup import configure_mlflow, ensure_experiment

    source_client, target_client = _client(source.mlflow_tracking_uri), _client(target.mlflow_tracking_uri)
    configure_mlflow(source)
    with mlflow_errors(source, f"reading run {source_run_id}"), quiet_mlflow():
        source_run = source_client.get_run(source_run_id)
        experiment_name = source_client.get_experiment(source_run.info.experiment_id).name
        children = _children(source_client, source_run.info.experiment_id, source_run_id)
    experiment_id = ensure_experiment(experiment_name, target)
    with mlflow_errors(target, f"replaying run {source_run_id}"), quiet_mlflow():
        copies = _find_copy(target_client, experiment_id, source_run_id)
        done = [run for run in copies if run.info.status == source_run.info.status and run.info.end_time]
        if done:
            run = done[0]
            return ReplayedRun(run_id=run.info.run_id, experiment_id=experiment_id,
                               model_id=run.data.tags.get(LOGGED_MODEL_TAG), created=False)
        for unfinished in copies:
            target_client.delete_run(unfinished.info.run_id)
        run_id, copied_model = _copy_run(source_client, target_client, source_run, experiment_id=experiment_id,
                                         parent_id=None, model_id=model_id)
        for child in children:
            for stale in _find_copy(target_client, experiment_id, child.info.run_id):
                if stale.data.tags.get(MLFLOW_PARENT_RUN_ID) != run_id:
                    target_client.delete_run(stale.info.run_id)
            child_id, _ = _copy_run(source_client, target_client, child, experiment_id=experiment_id,
                                    parent_id=run_id, model_id=None)
            _finish(target_client, child_id, child)
        _finish(target_client, run_id, source_run)  # last: a finished copy is a complete one
    return ReplayedRun(run_id=run_id, experiment_id=experiment_id, model_id=copied_model, created=True)
