"""`shipyard step run` in fresh processes: the same records and cache keys as `shipyard run`, the cache shared
both ways, retries, and clear errors for a bad run id, step or order."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from shipyard.cli import main
from shipyard.pipeline.api import run
from shipyard.store import runs as store
from shipyard.store.db import reset_engines

ROOT = Path(__file__).resolve().parents[2]

STEPS = textwrap.dedent('''
    from pathlib import Path

    def extract():
        return [1, 2, 3]

    def total(rows, factor):
        return sum(rows) * factor

    def flaky(value, marker, failures):
        path = Path(marker)
        count = int(path.read_text()) if path.exists() else 0
        path.write_text(str(count + 1))
        if count < failures:
            raise RuntimeError(f"failure {count + 1}")
        return value + 1
''')

PIPELINE = """\
name: nightly
steps:
  - {name: extract, function: 'etl_steps:extract'}
  - {name: total, function: 'etl_steps:total', inputs: {rows: extract.result}, params: {factor: 10}}
"""

RECORDED = ("name", "kind", "position", "state", "cache_key", "cache_hit", "attempts", "outputs", "details", "error")


@pytest.fixture
def project(tmp_path, shipyard_home):
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "etl_steps.py").write_text(STEPS)
    (folder / "pipeline.yaml").write_text(PIPELINE)
    return folder


def fresh_process(*args, home: Path):
    """The CLI in a fresh process, as another machine would run it."""
    env = {**os.environ, "SHIPYARD_HOME": str(home), "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), *sys.path])}
    env.pop("SHIPYARD_DATABASE_URL", None)
    env.pop("MLFLOW_TRACKING_URI", None)
    return subprocess.run([sys.executable, "-m", "shipyard", *args], env=env, capture_output=True, text=True,
                          timeout=180)


@pytest.fixture
def cli(capsys):
    """The CLI in this process: (exit code, stdout, stderr)."""
    def call(*args):
        code = main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err
    return call


def step_by_step(cli, spec: Path, *extra, steps=("extract", "total"), in_fresh_processes: Path | None = None,
                 finish: bool = True) -> str:
    """Create a run, run its steps one by one (each in a fresh process when given that home), finish it."""
    code, out, err = cli("runs", "create", str(spec), *extra)
    assert code == 0, err
    run_id = out.strip()
    for step in steps:
        if in_fresh_processes is not None:
            done = fresh_process("step", "run", run_id, step, home=in_fresh_processes)
            assert done.returncode == 0, done.stderr
        else:
            code, _, err = cli("step", "run", run_id, step)
            assert code == 0, err
    if finish:
        code, _, err = cli("runs", "finish", run_id)
        assert code == 0, err
    return run_id


def records(run_id: str):
    reset_engines()
    return [{name: getattr(step, name) for name in RECORDED} for step in store.get_run(run_id).steps]


def test_step_run_records_what_the_local_runner_records(project, shipyard_home, tmp_path, monkeypatch, cli):
    local = run(project / "pipeline.yaml")
    assert local.status == "succeeded"
    expected = records(local.run_id)

    other_home = tmp_path / "other-home"  # nothing cached there: every step runs
    monkeypatch.setenv("SHIPYARD_HOME", str(other_home))
    reset_engines()
    run_id = step_by_step(cli, project / "pipeline.yaml", in_fresh_processes=other_home)
    remote = records(run_id)
    assert remote == expected
    assert all(step["state"] == "succeeded" and step["attempts"] == 1 for step in remote)
    record = store.get_run(run_id)
    assert record.status == "succeeded" and record.shown_status == "succeeded"
    assert record.finished_at is not None and record.result["error_kind"] is None


def test_a_cache_hit_either_way(project, shipyard_home, cli):
    first = step_by_step(cli, project / "pipeline.yaml", in_fresh_processes=shipyard_home)
    reset_engines()
    local = run(project / "pipeline.yaml")
    assert local.cache_hits == 2
    assert [s["cache_key"] for s in records(local.run_id)] == [s["cache_key"] for s in records(first)]

    again = step_by_step(cli, project / "pipeline.yaml")
    steps = records(again)
    assert [(s["state"], s["cache_hit"], s["attempts"]) for s in steps] == [("cached", True, 0)] * 2

    fresh = step_by_step(cli, project / "pipeline.yaml", "--no-cache")
    assert [(s["state"], s["cache_hit"]) for s in records(fresh)] == [("succeeded", False)] * 2


def with_flaky_step(project, marker, *, failures, retries):
    (project / "pipeline.yaml").write_text(
        PIPELINE + f"  - {{name: shaky, function: 'etl_steps:flaky', inputs: {{value: total.result}}, "
                   f"params: {{marker: '{marker}', failures: {failures}}}, retries: {retries}}}\n")


def shaky_record(run_id):
    return next(s for s in records(run_id) if s["name"] == "shaky")


def test_a_failing_step_is_retried_then_succeeds(project, shipyard_home, tmp_path, cli):
    marker = tmp_path / "attempts"
    with_flaky_step(project, marker, failures=2, retries=2)
    run_id = step_by_step(cli, project / "pipeline.yaml", steps=("extract", "total", "shaky"))
    shaky = shaky_record(run_id)
    assert shaky["state"] == "succeeded" and shaky["attempts"] == 3 and marker.read_text() == "3"


def test_a_step_failing_past_its_retries_exits_with_its_code(project, shipyard_home, tmp_path, cli):
    marker = tmp_path / "attempts"
    with_flaky_step(project, marker, failures=5, retries=1)
    run_id = step_by_step(cli, project / "pipeline.yaml", finish=False)
    done = fresh_process("step", "run", run_id, "shaky", home=shipyard_home)
    assert done.returncode == 4, done.stderr  # the user's code raised
    assert "attempt 1 failed: " in done.stderr and "retrying in" in done.stderr
    assert "step 'shaky'" in done.stderr and "failure 2" in done.stderr and "Traceback" not in done.stderr
    shaky = shaky_record(run_id)
    assert shaky["state"] == "failed" and shaky["attempts"] == 2 and marker.read_text() == "2"
    assert shaky["error"].startswith("RuntimeError: failure 2") or "failure 2" in shaky["error"]

    code, _, err = cli("runs", "finish", run_id)
    assert code == 7 and f"shipyard step run {run_id} shaky" in err
    assert store.get_run(run_id).status == "failed"


def test_one_attempt_only_leaves_the_retries_to_the_caller(project, shipyard_home, tmp_path, cli):
    marker = tmp_path / "attempts"
    with_flaky_step(project, marker, failures=1, retries=3)
    run_id = step_by_step(cli, project / "pipeline.yaml", finish=False)
    assert cli("step", "run", run_id, "shaky", "--once")[0] == 4
    assert shaky_record(run_id)["state"] == "failed"
    assert cli("step", "run", run_id, "shaky", "--once")[0] == 0
    shaky = shaky_record(run_id)
    assert shaky["state"] == "succeeded" and shaky["attempts"] == 2


def test_bad_run_id_or_step_is_not_found(project, shipyard_home, cli):
    run_id = cli("runs", "create", str(project / "pipeline.yaml"))[1].strip()
    code, _, err = cli("step", "run", "nosuchrun", "extract")
    assert code == 8 and "there is no run 'nosuchrun'" in err and run_id in err
    code, _, err = cli("step", "run", run_id, "trian")
    assert code == 8 and "has no step 'trian'; its steps are: extract, total" in err
    assert [s.state for s in store.get_run(run_id).steps] == ["pending", "pending"]


def test_a_step_before_its_inputs_is_refused(project, shipyard_home, cli):
    run_id = cli("runs", "create", str(project / "pipeline.yaml"))[1].strip()
    code, _, err = cli("step", "run", run_id, "total")
    assert code == 6 and "step 'extract' is pending" in err and f"shipyard step run {run_id} extract" in err
    record = store.get_run(run_id)
    assert [s.state for s in record.steps] == ["pending", "pending"]
    assert record.shown_status == "running"  # steps run one by one have no owner process to lose


MODEL_PIPELINE = """\
name: tiny
data: {source: {type: csv, path: data/churn.csv}, target: churned}
split: {method: stratified, holdout: 0.25, seed: 1}
features:
  - columns: [tenure_months, monthly_charges]
    transforms: [{kind: impute}, {kind: scale}]
model: {flavor: sklearn, estimator: LogisticRegression, params: {max_iter: 500}}
sweep:
  n_trials: 2
  metric: roc_auc
  space: {C: {type: float, low: 0.01, high: 10, log: true}}
"""


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_model_pipeline_step_by_step_then_from_the_cache_locally(tmp_path, shipyard_home, cli):
    sys.path.insert(0, str(ROOT / "examples" / "churn"))
    from generate import generate_churn

    (tmp_path / "data").mkdir()
    generate_churn(n_rows=600, seed=3).to_csv(tmp_path / "data" / "churn.csv", index=False)
    (tmp_path / "pipeline.yaml").write_text(MODEL_PIPELINE)
    names = ("ingest", "validate", "split", "features", "sweep", "train", "evaluate", "register")
    run_id = step_by_step(cli, tmp_path / "pipeline.yaml", steps=names)
    record = store.get_run(run_id)
    assert record.status == "succeeded" and record.model_name == "tiny" and record.model_version == "1"
    assert record.result["metrics"]["roc_auc"] > 0.5
    assert record.steps[names.index("sweep")].details["trials"] == 2

    local = run(tmp_path / "pipeline.yaml")
    assert local.status == "succeeded" and local.cache_hits == len(names)
    assert [s["cache_key"] for s in records(local.run_id)] == [s["cache_key"] for s in records(run_id)]
    assert str(local.registration["model_version"]) == "1"
