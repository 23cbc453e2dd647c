"""A gateway whose MLflow server goes away keeps serving the versions it has loaded."""

from __future__ import annotations

import logging
import time

import httpx
import pytest

from lifecycle_moves import move
from mlflow_server import MlflowServer
from shipyard.config import load_settings
from shipyard.registry import lifecycle
from shipyard.serving.app import create_app
from shipyard.serving.follower import RETRY_FAILED_LOAD_S
from shipyard.serving.gateway import Gateway
from shipyard.serving.traffic import deploy, set_traffic
from tracked_run import FEATURES, lightgbm_pipeline, log_run, split, synthetic_frame

from .conftest import LiveServer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.fixture
def served_from_server(tmp_path, shipyard_home, monkeypatch):
    """Versions 1 and 2 of 'synth' (the same model twice) registered in a real MLflow server, both in staging;
    version 1 deployed."""
    from mlflow.tracking import MlflowClient

    server = MlflowServer(tmp_path / "mlflow-server").start()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
    settings = load_settings()
    train, holdout = split(synthetic_frame())
    result, _, _ = log_run(settings, model=lightgbm_pipeline(train), train=train, holdout=holdout)
    client = MlflowClient(tracking_uri=server.url, registry_uri=server.url)
    first = client.get_model_version("synth", "1")
    client.create_model_version("synth", source=first.source, run_id=first.run_id, tags=first.tags,
                                model_id=first.source.removeprefix("models:/"))
    for version in ("1", "2"):
        lifecycle.register_candidate("synth", version, actor="pipeline", settings=settings)
    move("synth", "1", "staging", actor="test", settings=settings)
    move("synth", "2", "staging", actor="test", settings=settings)
    deploy("synth", "1", actor="test", settings=settings)
    yield server, settings, holdout
    server.kill()


def _predict(live, holdout) -> httpx.Response:
    rows = holdout[FEATURES].head(3)
    return httpx.post(f"{live.url}/models/synth/invocations", json={"dataframe_split": {
        "columns": FEATURES, "data": rows.values.tolist()}}, timeout=10)


def test_a_gateway_that_loses_mlflow_keeps_serving_and_logs_a_failed_load_once(served_from_server, caplog):
    server, settings, holdout = served_from_server
    gateway = Gateway()
    gateway.follow(settings=settings, poll_interval_s=0.05)
    assert gateway.routes["synth"].stable.version == "1"
    with LiveServer(create_app(gateway)) as live:
        before = _predict(live, holdout)
        assert before.status_code == 200, before.text

        server.kill()
        caplog.set_level(logging.WARNING)
        set_traffic("synth", {"canary": ("2", 0.5)}, actor="test", settings=settings)
        deadline = time.monotonic() + 60
        while ("synth", "2") not in gateway.follower.failed:
            assert time.monotonic() < deadline, "the follower never tried to load version 2"
            time.sleep(0.05)
        time.sleep(1.0)  # about twenty more polls of the store

        for _ in range(5):
            after = _predict(live, holdout)
            assert after.status_code == 200, after.text
            assert after.json() == before.json()
        route = gateway.routes["synth"]
        assert route.stable.version == "1" and route.canary is None, "version 2 takes no traffic"
        failures = [r for r in caplog.records if "failed to load" in r.getMessage()]
        assert len(failures) == 1 and "synth version 2" in failures[0].getMessage()
        assert not [r for r in caplog.records if "could not read deployments" in r.getMessage()]
        assert RETRY_FAILED_LOAD_S >= 30, "a version that failed is not tried again at every poll"
    gateway.stop()
