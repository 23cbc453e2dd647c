"""`shipyard airflow export`: the DAG file's tasks, dependencies, settings and imports (no Airflow needed)."""

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from shipyard.cli import main as shipyard
from shipyard.errors import SpecError
from shipyard.pipeline.airflow_dag import ExportOptions, render_dag, shipyard_run_id
from shipyard.pipeline.airflow_pod import PodOptions, container_resources, pod_settings
from shipyard.pipeline.api import plan_spec
from shipyard.pipeline.dag import StepResources
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
    return {t["step"]: t["pod"] for t in config["tasks"]}


def test_kubernetes_pods_carry_each_steps_resources_pool_and_priority(etl):
    _, config = export(etl, flavour="kubernetes",
                       pod=PodOptions(image="registry/shipyard:1", node_selector={"zone": "a"}))
    pods = pods_of(config)
    report = pods["report"]
    assert report["image"] == "registry/shipyard:1"
    assert report["resources"] == {"requests": {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": "2"},
                                   "limits": {"memory": "16Gi", "nvidia.com/gpu": "2"}}
    assert report["annotations"] == {"shipyard.io/gpu-types": "A100"}
    assert report["node_selector"] == {"shipyard.io/spot": "true", "zone": "a"}
    assert {t["key"] for t in report["tolerations"]} == {"shipyard.io/spot", "nvidia.com/gpu"}
    assert report["priority_class"] == "batch-low" and report["labels"]["shipyard.io/team"] == "data"
    score = pods["score"]  # a quarter of a GPU: the extender's annotation, no whole-GPU request
    assert score["annotations"] == {"shipyard.io/gpu-milli": "250", "shipyard.io/expected-duration-s": "7200"}
    assert "nvidia.com/gpu" not in score["resources"]["requests"] and score["node_selector"] == {"zone": "a"}
    extract = pods["extract"]
    assert extract["resources"]["requests"] == {"cpu": "1500m", "memory": "1Gi"}
    assert extract["priority_class"] == "batch" and extract["tolerations"] == []
    assert config["begin_pod"]["resources"]["requests"] == {"cpu": "250m", "memory": "256Mi"}


def test_the_exports_pool_and_priority_override_every_step(etl):
    _, config = export(etl, flavour="kubernetes",
                       pod=PodOptions(image="i", pool="on-demand", priority_class="batch-high"))
    assert all(not pod["tolerations"] or pod["tolerations"][0]["key"] == "nvidia.com/gpu"
               for pod in pods_of(config).values())
    assert {pod["priority_class"] for pod in pods_of(config).values()} == {"batch-high"}
    _, config = export(etl, flavour="kubernetes", pod=PodOptions(image="i", pool="spot"))
    assert all(pod["node_selector"] == {"shipyard.io/spot": "true"} for pod in pods_of(config).values())


def test_a_step_allowed_on_spot_tolerates_it_without_selecting_it():
    settings = pod_settings(StepResources(cpu=1, spot=True), PodOptions(image="i"))
    assert [t["key"] for t in settings["tolerations"]] == ["shipyard.io/spot"] and settings["node_selector"] == {}


def test_on_demand_pods_tolerate_no_spot_taint():
    settings = pod_settings(StepResources(cpu=0.5, memory=0, gpu=0), PodOptions(image="i"))
    assert settings["tolerations"] == [] and settings["node_selector"] == {} and settings["annotations"] == {}
    assert container_resources(StepResources(cpu=0.5, memory=0)) == {"requests": {"cpu": "500m"}, "limits": {}}


def test_bad_options_are_spec_errors(etl):
    with pytest.raises(SpecError, match="not a task flavour"):
        export(etl, flavour="docker")
    with pytest.raises(SpecError, match="needs the image"):
        export(etl, flavour="kubernetes")
    with pytest.raises(SpecError, match="not a node pool"):
        export(etl, flavour="kubernetes", pod=PodOptions(image="i", pool="cheap"))


def test_the_run_id_is_the_same_for_the_same_dag_run_only():
    first = shipyard_run_id("shipyard_churn", "manual__2026-01-05T03:00:00+00:00")
    assert first == shipyard_run_id("shipyard_churn", "manual__2026-01-05T03:00:00+00:00")
    assert first != shipyard_run_id("shipyard_churn", "scheduled__2026-01-05T03:00:00+00:00")
    assert re.fullmatch(r"[0-9a-f]{12}", first)


def test_cli_writes_the_dag_file_and_refuses_bad_options(etl, tmp_path, capsys):
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


def test_the_churn_example_exports_with_its_sweep_as_one_task(tmp_path):
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


def test_a_kubernetes_pods_gpu_memory_is_the_scheduler_extenders_annotation():
    from shipyard.pipeline.airflow_pod import annotations

    assert annotations(StepResources(gpu=1, gpu_memory=24 * 2 ** 30, gpu_types=("A10",))) == {
        "shipyard.io/gpu-types": "A10", "shipyard.io/gpu-memory": "24576Mi"}
    assert annotations(StepResources(gpu=0.5, gpu_memory=2 ** 30 + 1)) == {
        "shipyard.io/gpu-milli": "500", "shipyard.io/gpu-memory": "1025Mi"}
