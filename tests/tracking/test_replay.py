"""Replaying a run from one MLflow store into another: everything copied, byte for byte, exactly once."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest

from shipyard.config import load_settings
from shipyard.tracking.replay import LOGGED_MODEL_TAG, SOURCE_RUN_TAG, replay_run
from shipyard.tracking.setup import ensure_experiment
from tracked_run import SWEEP, log_run

pytestmark = pytest.mark.timeout(300)


def _client(settings):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=settings.mlflow_tracking_uri, registry_uri=settings.mlflow_tracking_uri)


def _files(folder: str) -> dict[str, str]:
    root = Path(folder)
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*")
            if p.is_file()}


def _local_path(uri: str) -> str:
    from urllib.parse import urlparse
    from urllib.request import url2pathname

    return url2pathname(urlparse(uri).path)


@pytest.fixture
def stores(tmp_path, shipyard_home):
    source = load_settings()
    target = dataclasses.replace(source, mlflow_tracking_uri=f"sqlite:///{tmp_path / 'target' / 'mlflow.db'}",
                                 mlflow_artifact_root=tmp_path / "target" / "artifacts")
    return source, target


def test_a_run_with_trials_and_a_logged_model_is_copied_once(stores):
    source, target = stores
    tracked, _, _ = log_run(source, sweep=SWEEP, register=False)
    model_id = tracked.pending_version["model_id"]

    copy = replay_run(tracked.mlflow_run_id, source=source, target=target, model_id=model_id)
    again = replay_run(tracked.mlflow_run_id, source=source, target=target, model_id=model_id)
    assert copy.created and not again.created
    assert (again.run_id, again.model_id) == (copy.run_id, copy.model_id)

    src, dst = _client(source), _client(target)
    original, replayed = src.get_run(tracked.mlflow_run_id), dst.get_run(copy.run_id)
    runs = dst.search_runs([copy.experiment_id])
    assert len(runs) == 1 + len(SWEEP["trials"])
    assert replayed.data.tags[SOURCE_RUN_TAG] == original.info.run_id
    assert replayed.data.tags[LOGGED_MODEL_TAG] == copy.model_id
    assert replayed.data.params == original.data.params
    assert (replayed.info.run_name, replayed.info.status, replayed.info.start_time, replayed.info.end_time) == (
        original.info.run_name, original.info.status, original.info.start_time, original.info.end_time)
    for key in original.data.metrics:
        history = [(m.value, m.step, m.timestamp) for m in src.get_metric_history(original.info.run_id, key)]
        assert sorted(history) == sorted((m.value, m.step, m.timestamp)
                                         for m in dst.get_metric_history(copy.run_id, key))
    assert [d.dataset.digest for d in replayed.inputs.dataset_inputs] == [
        d.dataset.digest for d in original.inputs.dataset_inputs]
    assert _files(_local_path(replayed.info.artifact_uri)) == _files(_local_path(original.info.artifact_uri))
    source_model, copied_model = src.get_logged_model(model_id), dst.get_logged_model(copy.model_id)
    assert _files(_local_path(copied_model.artifact_location)) == _files(_local_path(source_model.artifact_location))
    assert copied_model.source_run_id == copy.run_id and str(copied_model.status) == "READY"

    trials = {r.data.tags["shipyard.trial_number"]: r for r in runs if r.info.run_id != copy.run_id}
    assert set(trials) == {"0", "1", "2"}
    assert {r.data.tags["mlflow.parentRunId"] for r in trials.values()} == {copy.run_id}
    assert trials["2"].info.status == "FAILED" and trials["0"].data.params == {"model.num_leaves": "15"}


def test_a_copy_left_unfinished_is_replaced(stores):
    source, target = stores
    tracked, _, _ = log_run(source, register=False)
    retried, _, _ = log_run(source, register=False)  # a retried register step finds the run it logged
    assert retried == tracked and tracked.model_version is None
    dst = _client(target)
    experiment_id = ensure_experiment("synth", target)
    stale = dst.create_run(experiment_id, tags={SOURCE_RUN_TAG: tracked.mlflow_run_id})  # an interrupted replay

    copy = replay_run(tracked.mlflow_run_id, source=source, target=target,
                      model_id=tracked.pending_version["model_id"])
    assert copy.created and copy.run_id != stale.info.run_id
    assert [r.info.run_id for r in dst.search_runs([experiment_id])] == [copy.run_id]
    assert dst.get_run(stale.info.run_id).info.lifecycle_stage == "deleted"
