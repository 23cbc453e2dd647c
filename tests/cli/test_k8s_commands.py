"""`shipyard k8s render` and `shipyard run --executor`: manifests that validate, for a run that
`shipyard step run` then continues; a clear refusal where there is no cluster or no such executor."""

import kubernetes_validate
import pytest
from ruamel.yaml import YAML

from shipyard.cli import main as shipyard
from shipyard.store import runs as store

STEPS = "def extract():\n    return [1, 2, 3]\n\ndef total(rows, factor):\n    return sum(rows) * factor\n"
PIPELINE = """\
name: nightly
steps:
  - {name: extract, function: 'etl_steps:extract'}
  - {name: total, function: 'etl_steps:total', inputs: {rows: extract.result}, params: {factor: 10},
     resources: {cpu: 0.5, gpu: 1}}
"""
KUBERNETES = "kubernetes: {image: 'registry.example.com/nightly:1', namespace: batch}\n"


@pytest.fixture
def project(tmp_path, shipyard_home, monkeypatch):
    (tmp_path / "etl_steps.py").write_text(STEPS)
    (tmp_path / "pipeline.yaml").write_text(PIPELINE + KUBERNETES)
    monkeypatch.delenv("SHIPYARD_K8S_IMAGE", raising=False)
    return tmp_path


def test_render_writes_valid_manifests_for_a_run_step_run_continues(project, capsys):
    out = project / "manifests"
    assert shipyard(["k8s", "render", str(project / "pipeline.yaml"), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    files = sorted(out.iterdir())
    assert [f.name for f in files] == ["00-priorityclass-batch.yaml", "01-extract.yaml", "02-total.yaml"]
    assert captured.out.split() == [str(f) for f in files]
    manifests = [YAML(typ="safe").load(f.read_text()) for f in files]
    for manifest in manifests:
        kubernetes_validate.validate(manifest, kubernetes_validate.latest_version(), strict=True)
    run_id = manifests[1]["metadata"]["labels"]["shipyard.io/run"]
    assert f"run {run_id}: 2 step Jobs" in captured.err
    assert manifests[2]["spec"]["template"]["spec"]["containers"][0]["command"] == [
        "shipyard", "step", "run", run_id, "total"]
    assert manifests[2]["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"] == {"nvidia.com/gpu": "1"}

    assert [s.state for s in store.get_run(run_id).steps] == ["pending", "pending"]
    assert shipyard(["step", "run", run_id, "extract"]) == 0
    assert shipyard(["step", "run", run_id, "total"]) == 0
    assert shipyard(["runs", "finish", run_id]) == 0
    assert store.get_run(run_id).status == "succeeded"

    again = project / "again"
    assert shipyard(["k8s", "render", str(project / "pipeline.yaml"), "--out", str(again), "--run-id", run_id,
                     "--image", "other:2"]) == 0
    assert "image: other:2" in (again / "01-extract.yaml").read_text()
    assert len(store.list_runs()) == 1


def test_render_without_an_image_records_nothing(project, capsys):
    (project / "pipeline.yaml").write_text(PIPELINE)
    assert shipyard(["k8s", "render", str(project / "pipeline.yaml"), "--out", str(project / "m")]) == 2
    err = capsys.readouterr().err
    assert "no container image" in err and "SHIPYARD_K8S_IMAGE" in err
    assert store.list_runs() == [] and not (project / "m").exists()


def test_render_for_an_unknown_run_is_not_found(project, capsys):
    assert shipyard(["k8s", "render", str(project / "pipeline.yaml"), "--out", str(project / "m"),
                     "--run-id", "feedfacecafe"]) == 8
    assert "there is no run 'feedfacecafe'" in capsys.readouterr().err


def test_run_on_kubernetes_without_a_cluster_is_refused_before_anything_runs(project, capsys, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(project / "no-such-kubeconfig"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    assert shipyard(["run", str(project / "pipeline.yaml"), "--executor", "kubernetes"]) == 5
    err = capsys.readouterr().err
    assert "no Kubernetes cluster to run the steps on" in err and "KUBECONFIG" in err
    assert store.list_runs() == []


def test_an_unknown_executor_is_a_usage_error(project, capsys):
    assert shipyard(["run", str(project / "pipeline.yaml"), "--executor", "slurm"]) == 2
    assert "there is no executor 'slurm'" in capsys.readouterr().err
    assert store.list_runs() == []
