"""With SHIPYARD_RETRAIN_VIA=airflow, critical drift starts the pipeline's DAG through a real Airflow API server."""

import os
import signal
import socket
import subprocess
import time

import httpx
import pytest

from shipyard.cli import main as shipyard
from shipyard.governance.audit import read_events
from shipyard.monitoring.retrain import maybe_retrain
from shipyard.pipeline.airflow_trigger import retrain_via
from shipyard.spec.monitoring import MonitoringSpec
from shipyard.store import runs as store

from .test_alerts import critical_run  # noqa: F401  (fixture)

AUTO = MonitoringSpec(retrain="auto", cooldown="1h")
PIPELINE = "name: churn\nsteps: [{name: refit, function: 'churn_steps:refit'}]\n"
pytestmark = [pytest.mark.airflow, pytest.mark.slow, pytest.mark.timeout(900)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def api_server(airflow, tmp_path_factory):
    """Airflow's API server (every caller an admin) with the churn pipeline's DAG parsed into its database."""
    spec = tmp_path_factory.mktemp("retrain") / "pipeline.yaml"
    spec.write_text(PIPELINE)
    assert shipyard(["airflow", "export", str(spec), "--out", str(airflow.dags)]) == 0
    parsed = airflow("dags", "reserialize")
    assert parsed.returncode == 0, parsed.stderr[-3000:]
    port = _free_port()
    env = {**airflow.env, "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True"}
    server = subprocess.Popen([str(airflow.python.parent / "airflow"), "api-server", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/api/v2/version", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(1)
        else:
            pytest.fail("the Airflow API server did not answer within 300s")
        yield {"url": url, "spec": spec}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)


def _record_pipeline(spec) -> None:
    store.create_run(run_id="trained00001", pipeline="churn", spec_path=str(spec), spec_text=PIPELINE,
                     spec_digest="0" * 64, options={})
    store.update_run("trained00001", status="succeeded", model_name="churn", model_version="1")


def test_critical_drift_triggers_the_dag_on_airflow(api_server, critical_run, monkeypatch):
    monkeypatch.setenv("SHIPYARD_RETRAIN_VIA", "airflow")
    monkeypatch.setenv("SHIPYARD_AIRFLOW_URL", api_server["url"])
    _record_pipeline(api_server["spec"])
    outcome = maybe_retrain(critical_run, AUTO)
    assert outcome["outcome"] == "triggered" and outcome["dag_id"] == "shipyard_churn"
    token = httpx.get(f"{api_server['url']}/auth/token").json()["access_token"]
    dag_run = httpx.get(f"{api_server['url']}/api/v2/dags/shipyard_churn/dagRuns/{outcome['dag_run_id']}",
                        headers={"Authorization": f"Bearer {token}"}).json()
    assert dag_run["conf"]["drift_report"] == critical_run.id and dag_run["triggered_by"] == "rest_api"
    assert dag_run["state"] == "queued"
    [event] = [e for e in read_events(model="churn") if e.action == "retrain_triggered"]
    assert event.details["dag_run_id"] == outcome["dag_run_id"]
    assert maybe_retrain(critical_run, AUTO)["outcome"] == "skipped"  # the cooldown holds for Airflow too


def test_an_airflow_that_does_not_answer_is_a_recorded_failure(critical_run, monkeypatch, tmp_path):
    spec = tmp_path / "pipeline.yaml"
    spec.write_text(PIPELINE)
    monkeypatch.setenv("SHIPYARD_RETRAIN_VIA", "airflow")
    monkeypatch.setenv("SHIPYARD_AIRFLOW_URL", f"http://127.0.0.1:{_free_port()}")
    _record_pipeline(spec)
    outcome = maybe_retrain(critical_run, AUTO)
    assert outcome["outcome"] == "failed" and "did not answer" in outcome["reason"]
    assert [e.action for e in read_events(model="churn")][-1] == "retrain_failed"


def test_the_retrain_setting_is_checked(monkeypatch):
    from shipyard.errors import SpecError

    assert retrain_via({}) == "local" and retrain_via({"SHIPYARD_RETRAIN_VIA": "airflow"}) == "airflow"
    with pytest.raises(SpecError, match="is not one of local, airflow"):
        retrain_via({"SHIPYARD_RETRAIN_VIA": "celery"})
