"""`shipyard airflow export`: the DAG file's tasks, dependencies, settings and imports (no Airflow needed)."""

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from shipyard.cli import main as shipyard
from shipyard.errors import SpecError, UsageError
from shipyard.pipeline.airflow_dag import ExportOptions, render_dag, shipyard_run_id
from shipyard.pipeline.airflow_pod import PodOptions
from shipyard.pipeline.api import plan_spec
from shipyard.pipeline.dag import StepNode, StepResources
from shipyard.spec.loader import load_spec

ROOT = Path(__file__).resolve().parents[2]
ETL = """\
name: etl
team: data
schedule: '0 3 * * 1'
catchup: true
resources: {cpu: 1.5, memory: 1GiB}
retries: 2
timeout: 15m
steps:
  - {name: extract, function: 'etl_steps:extract'}
  - {name: clean, function: 'etl_steps:clean', inputs: {raw: extract.result}, retries: 0}
  - {name: report, function: 'etl_steps:report', inputs: {rows: clean.result, raw: extract.result},
     resources: {cpu: 4, memory: 16GiB, gpu: 2, gpu_type: [A100], spot: required, priority: batch-low}}
  - {name: score, function: 'etl_steps:score', inputs: {rows: clean.result},
     resources: {cpu: 1, gpu: 0.25, expected_duration: 2h}}
"""


@pytest.fixture
def etl(tmp_path):
    path = tmp_path / "pipeline.yaml"
    path.write_text(ETL)
    return path


def config_of(text: str) -> dict:
    return json.loads(re.search(r'CONFIG = json.loads\(r"""(.*?)"""\)', text, re.S).group(1))


def export(spec: Path, **options) -> tuple[str, dict]:
    loaded = load_spec(spec)
    text = render_dag(loaded, plan_spec(loaded).dag, ExportOptions(**options))
    return text, config_of(text)


def test_one_task_per_step_with_the_dags_dependencies_retries_and_timeouts(etl):
    _, config = export(etl, shipyard="/opt/shipyard/bin/shipyard", env={"SHIPYARD_HOME": "/srv/shipyard"})
    tasks = {t["step"]: t for t in config["tasks"]}
    assert list(tasks) == ["extract", "clean", "report", "score"]
    assert tasks["extract"]["upstream"] == ["begin"]
    assert tasks["report"]["upstream"] == ["clean", "extract"]
    assert [tasks[n]["retries"] for n in tasks] == [2, 0, 2, 2]
    assert tasks["clean"]["timeout_s"] == 900
    assert [tasks[n]["pool_slots"] for n in tasks] == [2, 2, 4, 1]
    assert tasks["report"]["queue"] == "gpu" and "queue" not in tasks["extract"]
    assert config["schedule"] == "0 3 * * 1" and config["catchup"] is True
    assert config["dag_id"] == "shipyard_etl" and config["team"] == "data"
    assert config["shipyard"] == "/opt/shipyard/bin/shipyard"
    assert config["env"] == {"SHIPYARD_HOME": "/srv/shipyard"}
    assert config["spec_path"] == str(etl.resolve())


def test_the_dag_file_imports_only_airflow_and_the_standard_library(etl):
    for flavour, extra in (("process", {}), ("kubernetes", {"pod": PodOptions(image="registry/shipyard:1")})):
        text, _ = export(etl, flavour=flavour, **extra)
        modules = set()
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                modules.add(node.module.split(".")[0])
        assert modules - {"__future__"} <= {"airflow"} | set(sys.stdlib_module_names), modules


def pods_of(config: dict) -> dict:
    return {t["step"]: t["pod"]["template"] for t in config["tasks"]}


def job_pods(spec: Path, run_id: str = "0123456789ab", image: str | None = None) -> dict:
    """Each step's pod template as the Kubernetes executor's Jobs carry it."""
    from shipyard.pipeline.k8s_jobs import JobTarget, as_dict, step_job

    loaded = load_spec(spec)
    dag = plan_spec(loaded).dag
    target = JobTarget.of(run_id=run_id, pipeline=loaded.spec.name, config=loaded.spec.kubernetes, image=image)
    return {name: as_dict(step_job(target, dag.node(name)))["spec"]["template"] for name in dag.names}


def placement_of(template: dict) -> dict:
    """What decides where and as what a pod runs, whoever builds it."""
    spec, container = template["spec"], template["spec"]["containers"][0]
    return {"resources": container["resources"], "image": container["image"], "env": container["env"],
            "env_from": container["envFrom"], "mounts": container["volumeMounts"], "volumes": spec["volumes"],
            "affinity": spec.get("affinity"), "tolerations": spec.get("tolerations"),
            "priority": spec["priorityClassName"], "service_account": spec.get("serviceAccountName"),
            "annotations": template["metadata"].get("annotations")}


def test_kubernetes_pods_are_built_as_the_kubernetes_executor_builds_its_jobs(etl):
    etl.write_text(ETL + "kubernetes: {image: registry/shipyard:1, namespace: ml-batch, service_account: runner}\n")
    _, config = export(etl, flavour="kubernetes")
    pods, jobs = pods_of(config), job_pods(etl)
    assert list(pods) == list(jobs)
    for name in pods:
        assert placement_of(pods[name]) == placement_of(jobs[name]), name
        assert pods[name]["spec"]["containers"][0]["name"] == "base"  # KubernetesPodOperator's container
    report = placement_of(pods["report"])
    assert report["resources"]["limits"] == {"memory": str(16 * 2**30), "nvidia.com/gpu": "2"}
    assert {t["key"] for t in report["tolerations"]} == {"shipyard.io/spot", "nvidia.com/gpu"}
    assert report["priority"] == "batch-low" and report["service_account"] == "runner"
    assert report["annotations"] == {"shipyard.io/gpu-types": "A100"}
    assert pods["score"]["metadata"]["annotations"] == {"shipyard.io/gpu-milli": "250",
                                                        "shipyard.io/expected-duration-s": "7200"}
    assert pods["report"]["metadata"]["labels"]["shipyard.io/team"] == "data"
    assert {t["pod"]["namespace"] for t in config["tasks"]} == {"ml-batch"}
    begin = config["begin_pod"]["template"]["spec"]["containers"][0]
    assert begin["resources"]["requests"] == {"cpu": "250m", "memory": str(256 * 2**20)}


def test_the_export_adds_its_environment_and_node_labels_to_every_pod(etl):
    _, config = export(etl, flavour="kubernetes", env={"MLFLOW_TRACKING_URI": "http://mlflow:5000"},
                       pod=PodOptions(image="registry/shipyard:1", node_selector={"zone": "a"}))
    for template in [*pods_of(config).values(), config["begin_pod"]["template"]]:
        env = {e["name"]: e["value"] for e in template["spec"]["containers"][0]["env"]}
        assert env["MLFLOW_TRACKING_URI"] == "http://mlflow:5000" and env["SHIPYARD_HOME"] == "/shipyard"
        assert template["spec"]["nodeSelector"] == {"zone": "a"}


def test_the_exports_pool_and_priority_override_every_step(etl):
    off_spot = {"key": "shipyard.io/spot", "operator": "NotIn", "values": ["true"]}
    on_spot = {"key": "shipyard.io/spot", "operator": "In", "values": ["true"]}

    def expressions(template):
        terms = template["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        return [e for term in terms["nodeSelectorTerms"] for e in term["matchExpressions"]]

    _, config = export(etl, flavour="kubernetes",
                       pod=PodOptions(image="i", pool="on-demand", priority_class="batch-high"))
    for template in pods_of(config).values():
        assert off_spot in expressions(template)
        assert all(t["key"] == "nvidia.com/gpu" for t in template["spec"].get("tolerations", []))
    assert {t["spec"]["priorityClassName"] for t in pods_of(config).values()} == {"batch-high"}
    _, config = export(etl, flavour="kubernetes", pod=PodOptions(image="i", pool="spot"))
    assert all(on_spot in expressions(template) for template in pods_of(config).values())


def test_the_image_comes_from_the_option_the_spec_or_the_environment_as_for_jobs(etl, monkeypatch):
    monkeypatch.delenv("SHIPYARD_K8S_IMAGE", raising=False)
    with pytest.raises(UsageError, match="no container image"):
        export(etl, flavour="kubernetes")
    monkeypatch.setenv("SHIPYARD_K8S_IMAGE", "registry/from-env:2")
    _, config = export(etl, flavour="kubernetes")
    assert {t["pod"]["image"] for t in config["tasks"]} == {"registry/from-env:2"}
    etl.write_text(ETL + "kubernetes: {image: registry/from-spec:3}\n")
    _, config = export(etl, flavour="kubernetes")
    assert {t["pod"]["image"] for t in config["tasks"]} == {"registry/from-spec:3"}
    _, config = export(etl, flavour="kubernetes", pod=PodOptions(image="registry/option:4"))
    assert {t["pod"]["image"] for t in config["tasks"]} == {"registry/option:4"}
    assert {t["pod"]["template"]["spec"]["containers"][0]["image"] for t in config["tasks"]} == {"registry/option:4"}


def test_bad_options_are_spec_errors(etl):
    with pytest.raises(SpecError, match="not a task flavour"):
        export(etl, flavour="docker")
    with pytest.raises(SpecError, match="not a node pool"):
        export(etl, flavour="kubernetes", pod=PodOptions(image="i", pool="cheap"))


def test_the_run_id_is_the_same_for_the_same_dag_run_only():
    first = shipyard_run_id("shipyard_churn", "manual__2026-01-05T03:00:00+00:00")
    assert first == shipyard_run_id("shipyard_churn", "manual__2026-01-05T03:00:00+00:00")
    assert first != shipyard_run_id("shipyard_churn", "scheduled__2026-01-05T03:00:00+00:00")
    assert re.fullmatch(r"[0-9a-f]{12}", first)


def test_cli_writes_the_dag_file_and_refuses_bad_options(etl, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("SHIPYARD_K8S_IMAGE", raising=False)
    out = tmp_path / "dags"
    assert shipyard(["airflow", "export", str(etl), "--out", str(out), "--env", "A=1"]) == 0
    written = out / "shipyard_etl.py"
    assert "wrote" in capsys.readouterr().out
    compile(written.read_text(), str(written), "exec")
    assert config_of(written.read_text())["env"] == {"A": "1"}
    assert shipyard(["airflow", "export", str(etl), "--out", str(out), "--env", "novalue"]) == 2
    assert "is not KEY=VALUE" in capsys.readouterr().err
    assert shipyard(["airflow", "export", str(etl), "--out", str(out), "--flavour", "kubernetes"]) == 2
    assert shipyard(["airflow", "export", str(tmp_path / "missing.yaml"), "--out", str(out)]) == 2
    assert sorted(p.name for p in out.iterdir()) == ["shipyard_etl.py"]


def test_the_churn_example_exports_with_its_sweeps_trials_to_map(tmp_path):
    example = tmp_path / "churn"
    example.mkdir()
    (example / "pipeline.yaml").write_text((ROOT / "examples/churn/pipeline.yaml").read_text())
    subprocess.run([sys.executable, str(ROOT / "examples/churn/generate.py"), "--rows", "1200",
                    "--out", str(example / "data" / "churn.csv")], check=True, capture_output=True)
    _, config = export(example / "pipeline.yaml")
    assert [t["step"] for t in config["tasks"]] == ["ingest", "validate", "split", "features", "sweep", "train",
                                                    "evaluate", "register", "gate"]
    train = next(t for t in config["tasks"] if t["step"] == "train")
    assert train["upstream"] == ["features", "split", "sweep"] and train["timeout_s"] == 600
    tasks = {t["step"]: t for t in config["tasks"]}
    assert tasks["sweep"]["trials"] == 6 and all("trials" not in t for n, t in tasks.items() if n != "sweep")


def test_a_kubernetes_pods_gpu_memory_is_the_scheduler_extenders_annotation():
    from shipyard.pipeline.k8s_jobs import annotations

    def node(**resources):
        return StepNode(name="train", kind="train", impl="", resources=StepResources(**resources))

    assert annotations(node(gpu=1, gpu_memory=24 * 2 ** 30, gpu_types=("A10",))) == {
        "shipyard.io/gpu-types": "A10", "shipyard.io/gpu-memory": "24576Mi"}
    assert annotations(node(gpu=0.5, gpu_memory=2 ** 30 + 1)) == {
        "shipyard.io/gpu-milli": "500", "shipyard.io/gpu-memory": "1025Mi"}


def test_a_steps_deadline_is_a_due_time_templated_from_the_dag_runs_start(etl):
    etl.write_text(ETL.replace("expected_duration: 2h}", "expected_duration: 2h, deadline: 6h}"))
    text, config = export(etl, flavour="kubernetes", pod=PodOptions(image="registry/shipyard:1"))
    pods = {task["step"]: task["pod"] for task in config["tasks"]}
    assert pods["score"]["deadline_s"] == 6 * 3600
    assert all("deadline_s" not in pods[name] for name in ("extract", "clean", "report"))
    assert "deadline_s" not in config["begin_pod"]
    assert "dag_run.start_date + macros.timedelta(seconds={seconds})" in text
