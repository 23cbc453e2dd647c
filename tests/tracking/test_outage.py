"""An MLflow server killed mid-run: the run completes into the local fallback store, is marked pending-sync,
and `shipyard tracking sync` replays it into the restarted server exactly once."""

from __future__ import annotations

import hashlib
import textwrap
import time
from pathlib import Path

import pytest

from mlflow_server import MlflowServer
from shipyard.cli import main as shipyard
from shipyard.config import load_settings
from shipyard.errors import BackendError
from shipyard.pipeline import api
from shipyard.pipeline.progress import NullReporter
from shipyard.registry import lifecycle
from shipyard.store import runs as store
from shipyard.tracking.outage import TrackingBreaker, fallback_settings, is_outage
from tracked_run import synthetic_frame

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

SPEC = textwrap.dedent("""\
    name: outage
    data:
      source: {type: csv, path: synth.csv}
      target: y
    split: {method: stratified, holdout: 0.3, seed: 0}
    features:
      - columns: [x1, x2]
        transforms: [{kind: scale}]
      - columns: [color]
        transforms: [{kind: one_hot}]
    model:
      flavor: sklearn
      estimator: LogisticRegression
      params: {max_iter: 200, C: 0.5}
    promotion:
      gates:
        thresholds: ["roc_auc >= 0.5"]
""")


@pytest.fixture
def server(tmp_path, shipyard_home, monkeypatch):
    running = MlflowServer(tmp_path / "mlflow-server").start()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", running.url)
    yield running
    running.kill()


@pytest.fixture
def project(tmp_path):
    folder = tmp_path / "project"
    folder.mkdir()
    synthetic_frame(n=300).to_csv(folder / "synth.csv", index=False)
    (folder / "pipeline.yaml").write_text(SPEC)
    return folder


class KillAfter(NullReporter):
    """Kills the MLflow server once ``step`` has finished, while the rest of the run goes on."""

    def __init__(self, server: MlflowServer, step: str):
        self.server, self.step = server, step

    def update(self, state) -> None:
        if state.name == self.step and state.state in ("succeeded", "cached"):
            self.server.kill()


def _client(uri):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _artifact_digests(client, run_id: str, path: str = "") -> dict[str, str]:
    import mlflow.artifacts

    digests = {}
    for item in client.list_artifacts(run_id, path or None):
        if item.is_dir:
            digests.update(_artifact_digests(client, run_id, item.path))
        else:
            local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=item.path,
                                                        tracking_uri=client.tracking_uri)
            digests[item.path] = hashlib.sha256(Path(local).read_bytes()).hexdigest()
    return digests


def _metric_histories(client, run) -> dict[str, list[tuple]]:
    return {key: sorted((m.value, m.step, m.timestamp) for m in client.get_metric_history(run.info.run_id, key))
            for key in run.data.metrics}


def _datasets(run) -> list[tuple]:
    return sorted((d.dataset.name, d.dataset.digest, tuple(sorted((t.key, t.value) for t in d.tags)))
                  for d in run.inputs.dataset_inputs)


def test_a_server_killed_mid_run_gets_the_run_exactly_once_after_it_is_back(server, project, capsys):
    result = api.run(project / "pipeline.yaml", reporter=KillAfter(server, "ingest"))

    assert result.status == "succeeded", result.error
    registration = result.registration
    assert registration["tracking"] == "pending-sync" and registration["model_version"] is None
    gate = next(s for s in result.steps if s.name == "gate")
    assert "gates wait for `shipyard tracking sync`" in gate.details["outcome"]
    record = store.get_run(result.run_id)
    assert record.result["tracking"] == "pending-sync" and record.model_version is None
    assert lifecycle.list_states("outage") == []

    settings = load_settings()
    local = _client(fallback_settings(settings).mlflow_tracking_uri)
    fallback_run = local.get_run(registration["mlflow_run_id"])
    assert fallback_run.data.tags["shipyard.pipeline_run_id"] == result.run_id
    assert (settings.home / "tracking-fallback" / "mlflow.db").exists()

    capsys.readouterr()
    assert shipyard(["runs", "show", result.run_id]) == 0
    out = capsys.readouterr().out
    assert "tracking: pending-sync" in out and "shipyard tracking sync" in out

    started = time.monotonic()
    assert shipyard(["tracking", "sync"]) == BackendError.exit_code  # the server is still down
    assert time.monotonic() - started < 30
    assert "does not answer" in capsys.readouterr().err
    assert store.get_run(result.run_id).result["tracking"] == "pending-sync"

    server.start()
    from shipyard.tracking.setup import ensure_experiment

    partial = _client(server.url).create_run(  # what a server dying while the run was logged leaves behind
        ensure_experiment("outage", settings), tags={"shipyard.pipeline_run_id": result.run_id})
    assert shipyard(["tracking", "pending"]) == 0
    assert result.run_id in capsys.readouterr().out
    assert shipyard(["tracking", "sync"]) == 0
    out = capsys.readouterr().out
    assert f"synced run {result.run_id}" in out and "outage version 1 registered as a candidate" in out
    assert shipyard(["tracking", "sync"]) == 0
    assert "nothing to sync" in capsys.readouterr().out

    # a sync interrupted after its replay and registration, before it marked the run, is run again
    synced_record = store.get_run(result.run_id)
    store.update_run(result.run_id, result=record.result, mlflow_run_id=None, model_name=None, model_version=None)
    assert shipyard(["tracking", "sync"]) == 0
    assert store.get_run(result.run_id).mlflow_run_id == synced_record.mlflow_run_id

    remote = _client(server.url)
    experiment = remote.get_experiment_by_name("outage")
    runs = remote.search_runs([experiment.experiment_id])
    assert len(runs) == 1 and runs[0].info.run_id != partial.info.run_id
    remote_run, = runs
    assert remote_run.info.status == "FINISHED"
    assert remote_run.data.tags["shipyard.source_run_id"] == fallback_run.info.run_id
    assert remote_run.data.tags["shipyard.pipeline_run_id"] == result.run_id
    assert remote_run.data.tags["shipyard.data.train_digest"] == registration["data_digests"]["train"]
    assert remote_run.data.params == fallback_run.data.params
    assert _metric_histories(remote, remote_run) == _metric_histories(local, fallback_run)
    assert _datasets(remote_run) == _datasets(fallback_run)
    assert _artifact_digests(remote, remote_run.info.run_id) == _artifact_digests(local, fallback_run.info.run_id)

    versions = remote.search_model_versions("name = 'outage'")
    assert [v.version for v in versions] == ["1"]
    version = versions[0]
    assert version.run_id == remote_run.info.run_id
    assert version.tags["shipyard.model_sha256"] == registration["model_sha256"]
    assert version.tags["shipyard.pipeline_run_id"] == result.run_id

    state = lifecycle.get_state("outage", "1")
    assert state.state == "candidate"
    record = store.get_run(result.run_id)
    assert (record.result["tracking"], record.model_version, record.mlflow_run_id) == (
        "synced", "1", remote_run.info.run_id)
    assert shipyard(["runs", "show", result.run_id]) == 0
    assert f"tracking: synced from fallback MLflow run {fallback_run.info.run_id}" in capsys.readouterr().out
    assert shipyard(["models", "verify", "outage", "1"]) == 0


def test_a_run_against_a_server_that_never_answered_says_so_and_the_next_run_syncs_it(tmp_path, shipyard_home,
                                                                                        project, monkeypatch, capsys):
    server = MlflowServer(tmp_path / "mlflow-server")  # not started yet
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
    try:
        assert shipyard(["run", str(project / "pipeline.yaml")]) == 0
        out = capsys.readouterr().out
        assert "tracking: pending-sync: the MLflow server was out (it did not answer within 3s)" in out
        assert "when you run: shipyard tracking sync" in out
        assert "not gated or deployed: the version does not exist until `shipyard tracking sync`" in out
        first, = store.runs_with_tracking("pending-sync")

        server.start()
        assert shipyard(["run", str(project / "pipeline.yaml")]) == 0
        captured = capsys.readouterr()
        assert f"synced run {first.id} to MLflow" in captured.err and "outage version 1" in captured.err
        assert "registered model: outage version 2" in captured.out
        assert store.runs_with_tracking("pending-sync") == []
        assert [s.version for s in lifecycle.list_states("outage")] == ["1", "2"]
        assert store.get_run(first.id).model_version == "1"
    finally:
        server.kill()


def test_the_breaker_opens_when_the_server_dies_while_a_run_is_logged(server, shipyard_home):
    from mlflow.tracking import MlflowClient

    from shipyard.tracking.backend import mlflow_errors

    def log(settings):
        client = MlflowClient(tracking_uri=settings.mlflow_tracking_uri)
        with mlflow_errors(settings, "logging a run"):
            run = client.create_run(client.get_experiment_by_name("Default").experiment_id)
            if settings.mlflow_tracking_uri == server.url:
                server.kill()
            client.log_param(run.info.run_id, "alpha", "1")
        return run.info.run_id

    from shipyard.tracking.setup import configure_mlflow

    settings = load_settings()
    configure_mlflow(fallback_settings(settings))
    started = time.monotonic()
    tracked = TrackingBreaker(settings).call(log)
    assert time.monotonic() - started < 30
    assert tracked.pending_sync and tracked.reason.startswith("it failed while the run was logged")
    assert tracked.settings == fallback_settings(settings)
    stored = _client(tracked.settings.mlflow_tracking_uri).get_run(tracked.value)
    assert stored.data.params == {"alpha": "1"}


def test_an_embedded_store_is_used_as_is_and_only_server_failures_open_the_breaker(shipyard_home):
    from mlflow.exceptions import MlflowException, RestException

    settings = load_settings()
    tracked = TrackingBreaker(settings).call(lambda s: s.mlflow_tracking_uri)
    assert (tracked.value, tracked.pending_sync) == (settings.mlflow_tracking_uri, False)

    assert is_outage(RestException({"error_code": "TEMPORARILY_UNAVAILABLE", "message": "busy"}))
    assert is_outage(MlflowException("API request to http://h/api/2.0/mlflow/runs/create failed with exception "
                                     "HTTPConnectionPool: Max retries exceeded"))
    assert not is_outage(RestException({"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "no such run"}))
    assert not is_outage(RestException({"error_code": "PERMISSION_DENIED", "message": "no"}))
    assert not is_outage(MlflowException("the model could not be serialized"))
