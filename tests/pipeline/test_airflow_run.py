"""The churn example's exported DAG on a real Apache Airflow 3 (`airflow dags test`), against PostgreSQL.

Airflow lives in its own virtualenv (`make airflow-venv`); without it these tests are skipped, unless
SHIPYARD_REQUIRE_AIRFLOW=1 makes them mandatory.
"""

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from shipyard.cli import main as shipyard
from shipyard.pipeline import airflow_dag, api
from shipyard.pipeline.progress import NullReporter
from shipyard.store import runs as store

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.airflow, pytest.mark.slow, pytest.mark.timeout(900)]


def _steps(record) -> dict:
    return {step.name: step for step in record.steps}


@pytest.mark.postgres
def test_the_churn_dag_runs_on_airflow_like_a_local_run(airflow, churn, postgres_store, capsys):
    executable = Path(sys.executable).parent / "shipyard"
    assert shipyard(["airflow", "export", str(churn), "--out", str(airflow.dags), "--shipyard", str(executable),
                     "--env", f"PYTHONPATH={ROOT / 'src'}"]) == 0
    capsys.readouterr()

    done = airflow("dags", "test", "shipyard_churn", extra=postgres_store)
    assert done.returncode == 0, (done.stdout + done.stderr)[-5000:]

    (listed,) = store.list_runs(pipeline="churn")
    on_airflow = store.get_run(listed.id)
    link = on_airflow.options["airflow"]
    assert on_airflow.status == "succeeded" and link["dag_id"] == "shipyard_churn"
    assert all(s.state == "succeeded" and s.attempts == 1 and not s.cache_hit for s in on_airflow.steps)
    assert on_airflow.model_name == "churn" and on_airflow.model_version == "1"
    # the Airflow side names the shipyard run (other modules on this Airflow home may have run a DAG of this id)
    with sqlite3.connect(airflow.home / "airflow.db") as airflow_db:
        dag_runs = airflow_db.execute("SELECT run_id FROM dag_run WHERE dag_id = 'shipyard_churn' AND run_id = ?",
                                      (link["dag_run_id"],)).fetchall()
        begun = airflow_db.execute("SELECT value FROM xcom WHERE dag_id = 'shipyard_churn' AND run_id = ? "
                                   "AND task_id = 'begin'", (link["dag_run_id"],)).fetchall()
    assert dag_runs == [(link["dag_run_id"],)]
    assert [json.loads(value) for (value,) in begun] == [on_airflow.id]

    local = api.run(churn, reporter=NullReporter())
    assert local.status == "succeeded"
    assert all(step.state == "cached" for step in local.steps), [(s.name, s.state) for s in local.steps]
    assert local.registration["model_version"] == 1 or str(local.registration["model_version"]) == "1"
    local_record = store.get_run(local.run_id)
    airflow_steps, local_steps = _steps(on_airflow), _steps(local_record)
    assert list(airflow_steps) == list(local_steps)
    assert {n: s.outputs for n, s in airflow_steps.items()} == {n: s.outputs for n, s in local_steps.items()}
    assert on_airflow.result["metrics"] == local_record.result["metrics"]

    assert shipyard(["runs", "show", on_airflow.id]) == 0
    shown = capsys.readouterr().out
    assert f"Airflow DAG run: shipyard_churn / {link['dag_run_id']}" in shown
    assert "model: churn version 1" in shown and "roc_auc=" in shown
    assert shipyard(["lineage", "churn", "1", "--json"]) == 0
    lineage = json.loads(capsys.readouterr().out)
    assert lineage["pipeline_run"]["id"] == on_airflow.id
    assert lineage["ingested"]["digest"] == airflow_steps["ingest"].outputs["frame"]["digest"]


def test_the_kubernetes_flavour_builds_each_steps_pod_in_airflow_as_the_jobs_build_it(airflow, churn, tmp_path,
                                                                                       capsys, monkeypatch):
    from shipyard.pipeline.k8s_jobs import JobTarget, as_dict, step_job
    from shipyard.spec.loader import load_spec

    monkeypatch.setenv("SHIPYARD_K8S_IMAGE", "registry.example/shipyard:1.0")
    churn.write_text(churn.read_text() + "\nkubernetes: {namespace: ml-batch, service_account: pipelines}\n"
                     "step_options:\n  train: {resources: {memory: 1GiB, spot: true, expected_duration: 1h, "
                     "deadline: 3h, checkpoint_interval: 10m}}\n")
    dags = tmp_path / "k8s-dags"
    assert shipyard(["airflow", "export", str(churn), "--out", str(dags), "--flavour", "kubernetes",
                     "--spec-path", "/app/churn/pipeline.yaml"]) == 0
    capsys.readouterr()
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import datetime, json, types\n"
        "from kubernetes.client import ApiClient\n"
        "from airflow.models.dagbag import DagBag\n"
        "from airflow.sdk.execution_time import macros\n"
        "started = datetime.datetime(2026, 12, 2, 14, 0, tzinfo=datetime.timezone.utc)\n"
        "context = {'dag_run': types.SimpleNamespace(start_date=started), 'macros': macros,\n"
        "           'ti': types.SimpleNamespace(xcom_pull=lambda task_ids: '0123456789ab')}\n"
        f"bag = DagBag({str(dags)!r})\n"
        "assert not bag.import_errors, bag.import_errors\n"
        "dag = bag.get_dag('shipyard_churn')\n"
        "out = {}\n"
        "for task in dag.tasks:\n"
        "    if type(task).__name__ == 'MappedOperator':\n"
        "        out[task.task_id] = {'type': task.task_type, 'mapped': task.expand_input.value['arguments'],\n"
        "                             'pod': task.partial_kwargs['pod_template_dict'],\n"
        "                             'upstream': sorted(task.upstream_task_ids)}\n"
        "        continue\n"
        "    task.render_template_fields({**context, 'dag': dag, 'run_id': 'manual__2026-12-02T14:00:00'})\n"
        "    pod = ApiClient().sanitize_for_serialization(task.build_pod_request_obj(dry_run=True))\n"
        "    out[task.task_id] = {'type': type(task).__name__, 'pod': pod, 'retries': task.retries,\n"
        "        'timeout': task.execution_timeout.total_seconds() if task.execution_timeout else None,\n"
        "        'upstream': sorted(task.upstream_task_ids)}\n"
        "print(json.dumps(out))\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update(AIRFLOW_HOME=str(airflow.home), AIRFLOW__CORE__LOAD_EXAMPLES="False")
    done = subprocess.run([str(airflow.python), str(probe)], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    tasks = json.loads(done.stdout.strip().splitlines()[-1])
    assert list(tasks) == ["begin", "ingest", "validate", "split", "features", "sweep_plan", "sweep_trial",
                           "sweep", "train", "evaluate", "register", "gate", "finish"]
    trials = tasks["sweep_trial"]  # one pod per trial, mapped over the trial indices
    assert trials["type"] == "KubernetesPodOperator" and trials["upstream"] == ["sweep_plan"]
    assert [argv[-2:] for argv in trials["mapped"]] == [["--trial", "0"], ["--trial", "1"]]
    assert tasks["sweep_plan"]["upstream"] == ["split"] and tasks["sweep"]["upstream"] == ["sweep_trial"]

    loaded = load_spec(churn)
    dag = api.plan_spec(loaded).dag
    # The DAG run started at 14:00 UTC: the train step's three-hour deadline is its pod's due time, as for a Job.
    target = JobTarget.of(run_id="0123456789ab", pipeline="churn", config=loaded.spec.kubernetes,
                          started_s=1796220000.0)
    for name in dag.names:
        pod = tasks[name]["pod"]
        job = as_dict(step_job(target, dag.node(name)))["spec"]["template"]
        assert tasks[name]["type"] == "KubernetesPodOperator"
        assert _placement(pod) == _placement(job), name
        if name == "sweep":
            assert _placement(trials["pod"]) == _placement(job)
        assert pod["metadata"]["namespace"] == "ml-batch"
        command = pod["spec"]["containers"][0]["command"] + pod["spec"]["containers"][0]["args"]
        assert command[:3] == ["shipyard", "step", "run"] and command[-2:] == [name, "--once"]
    assert tasks["train"]["pod"]["metadata"]["annotations"]["shipyard.io/due"] == "2026-12-02T17:00:00Z"
    assert _placement(tasks["train"]["pod"])["gpu_annotations"] == {
        "shipyard.io/expected-duration-s": "3600", "shipyard.io/due": "2026-12-02T17:00:00Z",
        "shipyard.io/checkpoint-interval-s": "600"}
    train = _placement(tasks["train"]["pod"])
    assert train["image"] == "registry.example/shipyard:1.0" and train["priority"] == "batch-low"
    assert train["resources"]["requests"] == {"cpu": "1000m", "memory": str(2**30)}
    assert train["service_account"] == "pipelines"
    assert tasks["train"]["retries"] == 1 and tasks["train"]["timeout"] == 600
    assert tasks["train"]["upstream"] == ["features", "split", "sweep"]
    begin = tasks["begin"]["pod"]["spec"]["containers"][0]
    assert begin["args"][:3] == ["airflow", "begin", "/app/churn/pipeline.yaml"]
    assert tasks["finish"]["pod"]["spec"]["containers"][0]["args"][:2] == ["runs", "finish"]


def _placement(template: dict) -> dict:
    """What decides where and as what a step's pod runs, whoever built it."""
    spec, container = template["spec"], template["spec"]["containers"][0]
    return {"resources": container["resources"], "image": container["image"],
            "env": sorted((e["name"], e.get("value")) for e in container.get("env", [])),
            "env_from": container.get("envFrom"), "mounts": container.get("volumeMounts"),
            "volumes": spec.get("volumes"), "affinity": spec.get("affinity") or None,
            "tolerations": spec.get("tolerations") or [],
            "priority": spec.get("priorityClassName"), "service_account": spec.get("serviceAccountName"),
            "gpu_annotations": {k: v for k, v in (template["metadata"].get("annotations") or {}).items()
                                if k.startswith("shipyard.io/")}}


def test_begin_opens_one_run_per_dag_run_and_refuses_a_foreign_one(database_url, tmp_path, capsys):
    from shipyard.errors import RefusedError
    from shipyard.pipeline.airflow_dag import shipyard_run_id
    from shipyard.pipeline.airflow_run import begin

    spec = tmp_path / "pipeline.yaml"
    spec.write_text("name: etl\nsteps: [{name: extract, function: 'etl_steps:extract'}]\n")
    first = begin(spec, dag_id="shipyard_etl", dag_run_id="manual__1")
    assert begin(spec, dag_id="shipyard_etl", dag_run_id="manual__1") == first  # a retried begin task
    assert begin(spec, dag_id="shipyard_etl", dag_run_id="manual__2") != first
    record = store.get_run(first)
    assert record.status == "running" and [s.state for s in record.steps] == ["pending"]
    assert record.options["airflow"] == {"dag_id": "shipyard_etl", "dag_run_id": "manual__1"}
    assert shipyard(["airflow", "begin", str(spec), "--dag-id", "shipyard_etl", "--dag-run-id", "manual__1"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == first  # the last line is the task's XCom
    store.create_run(run_id=shipyard_run_id("shipyard_etl", "manual__3"), pipeline="etl", spec_path=None,
                     spec_text="", spec_digest="", options={})
    with pytest.raises(RefusedError, match="does not stand for Airflow DAG run"):
        begin(spec, dag_id="shipyard_etl", dag_run_id="manual__3")


@pytest.mark.postgres
def test_a_failing_step_fails_the_run_and_the_dag_run(airflow, postgres_store, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(airflow_dag, "RETRY_DELAY_S", 1)  # `finish` fails with the run, and Airflow retries it twice
    folder = tmp_path / "etl"
    folder.mkdir()
    (folder / "etl_steps.py").write_text("def extract():\n    return {'rows': 3}\n\n"
                                         "def load(raw):\n    raise ValueError('the warehouse said no')\n\n"
                                         "def report(loaded):\n    return loaded\n")
    spec = folder / "pipeline.yaml"
    spec.write_text("name: etl_fails\nsteps:\n  - {name: extract, function: 'etl_steps:extract'}\n"
                    "  - {name: load, function: 'etl_steps:load', inputs: {raw: extract.result}}\n"
                    "  - {name: report, function: 'etl_steps:report', inputs: {loaded: load.result}}\n")
    executable = Path(sys.executable).parent / "shipyard"
    assert shipyard(["airflow", "export", str(spec), "--out", str(airflow.dags), "--shipyard", str(executable),
                     "--env", f"PYTHONPATH={ROOT / 'src'}"]) == 0
    capsys.readouterr()
    airflow("dags", "test", "shipyard_etl_fails", extra=postgres_store)

    (listed,) = store.list_runs(pipeline="etl_fails")
    record = store.get_run(listed.id)
    assert record.status == "failed" and "the warehouse said no" in record.error
    assert {s.name: s.state for s in record.steps} == {"extract": "succeeded", "load": "failed", "report": "skipped"}
    with sqlite3.connect(airflow.home / "airflow.db") as airflow_db:
        states = dict(airflow_db.execute("SELECT task_id, state FROM task_instance WHERE dag_id = 'shipyard_etl_fails'"))
        (dag_state,) = airflow_db.execute("SELECT state FROM dag_run WHERE dag_id = 'shipyard_etl_fails'").fetchone()
    assert states["load"] == "failed" and states["report"] == "upstream_failed" and states["finish"] == "failed"
    assert dag_state == "failed"
