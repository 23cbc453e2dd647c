"""``run`` and ``resume`` of a pipeline YAML; here, pipelines of only user steps, which register nothing."""

import io
import json
import os
import subprocess
import sys
import textwrap

import pytest

from shipyard.pipeline.api import resume, run
from shipyard.pipeline.progress import LineReporter
from shipyard.store import runs as store

STEPS = textwrap.dedent('''
    import json, sys
    from pathlib import Path

    HEAVY = ("mlflow", "sklearn", "pandas", "pyarrow", "skops", "optuna")

    def extract():
        return [1, 2, 3]

    def total(rows, factor):
        return sum(rows) * factor

    def needs_flag(value, flag):
        if not Path(flag).exists():
            raise RuntimeError("flag file missing")
        return value + 1

    def heavy_modules(value, report):
        Path(report).write_text(json.dumps(sorted(m for m in HEAVY if m in sys.modules)))
        return value
''')


def write_pipeline(folder, steps):
    (folder / "etl_steps.py").write_text(STEPS)
    path = folder / "pipeline.yaml"
    path.write_text("name: nightly\nsteps:\n" + textwrap.indent(textwrap.dedent(steps), "  "))
    return path


PIPELINE = """\
    - {name: extract, function: 'etl_steps:extract'}
    - {name: total, function: 'etl_steps:total', inputs: {rows: extract.result}, params: {factor: 10}}
"""


@pytest.fixture
def project(tmp_path, shipyard_home):
    folder = tmp_path / "project"
    folder.mkdir()
    return folder


def test_a_steps_only_pipeline_runs_caches_and_registers_nothing(project, shipyard_home):
    path = write_pipeline(project, PIPELINE)
    first = run(path)
    assert first.status == "succeeded", first.error
    assert [(s["name"], s["state"]) for s in first.to_dict()["steps"]] == [("extract", "succeeded"),
                                                                           ("total", "succeeded")]
    assert first.registration is None and first.metrics is None
    record = store.get_run(first.run_id)
    assert record.status == "succeeded" and record.model_name is None and record.mlflow_run_id is None
    assert not (shipyard_home / "mlflow.db").exists() and not (shipyard_home / "mlartifacts").exists()

    again = run(path)
    assert again.status == "succeeded" and again.cache_hits == 2
    assert again.to_dict()["steps"][1]["outputs"] == first.to_dict()["steps"][1]["outputs"]


def test_a_steps_only_pipeline_resumes_from_its_failed_step(project, shipyard_home):
    flag = project / "flag"
    path = write_pipeline(project, PIPELINE + f"""\
    - {{name: finish, function: 'etl_steps:needs_flag', inputs: {{value: total.result}}, params: {{flag: '{flag}'}}}}
""")
    failed = run(path)
    assert failed.status == "failed" and failed.exit_code == 4
    assert "flag file missing" in failed.error
    assert failed.resume_command == f"shipyard run --resume {failed.run_id}"

    flag.write_text("")
    shown = io.StringIO()
    resumed = resume(failed.run_id, reporter=LineReporter(shown))
    assert resumed.status == "succeeded" and resumed.run_id == failed.run_id
    kept = [line.split(":")[0].strip() for line in shown.getvalue().splitlines() if "done before resume" in line]
    assert kept == ["extract", "total"]
    steps = {s["name"]: s for s in resumed.to_dict()["steps"]}
    assert steps["finish"]["state"] == "succeeded"
    assert resumed.registration is None


def test_the_whole_process_imports_no_model_libraries(project, tmp_path):
    """`shipyard run` of a steps-only pipeline: neither the runner nor its workers load MLflow, scikit-learn,
    pandas, pyarrow or skops, and no MLflow store is created."""
    report = tmp_path / "modules.json"
    path = write_pipeline(project, PIPELINE + f"""\
    - {{name: modules, function: 'etl_steps:heavy_modules', inputs: {{value: total.result}},
       params: {{report: '{report}'}}}}
""")
    home = tmp_path / "cold-home"
    env = {**os.environ, "SHIPYARD_HOME": str(home), "PYTHONPATH": os.pathsep.join(sys.path)}
    env.pop("SHIPYARD_DATABASE_URL", None)
    env.pop("MLFLOW_TRACKING_URI", None)
    done = subprocess.run([sys.executable, "-m", "shipyard", "run", str(path), "--json"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "succeeded" and result["registration"] is None
    assert json.loads(report.read_text()) == []
    assert not (home / "mlflow.db").exists()


def test_a_run_is_authorized_up_front_for_every_operation_its_spec_does(tmp_path, shipyard_home):
    from shipyard.errors import ForbiddenError
    from shipyard.governance.identity import Identity, acting_as
    from shipyard.governance.policy import OPERATIONS, RANK
    from shipyard.pipeline.api import authorize_run, run_operations
    from shipyard.spec.loader import parse_spec

    base = ("name: churny\nteam: growth\ndata: {source: {type: csv, path: data.csv}, target: y}\n"
            "features: [{columns: [x], transforms: [{kind: scale}]}]\n"
            "model: {flavor: sklearn, estimator: LogisticRegression}\n")
    gated = base + 'promotion: {gates: {thresholds: ["roc_auc >= 0.5"]}}\n'
    rolled_out = gated + "deployment: {canary: {steps: [50, 100]}}\n"
    specs = {text: parse_spec(text, source="pipeline.yaml", base_dir=tmp_path) for text in (base, gated, rolled_out)}
    assert [run_operations(loaded.spec) for loaded in specs.values()] == [
        ("runs.start",), ("runs.start", "gates.evaluate", "lifecycle.promote", "lifecycle.reject"),
        ("runs.start", "gates.evaluate", "lifecycle.promote", "lifecycle.reject", "deploy.canary")]
    assert {OPERATIONS[operation] for operation in run_operations(specs[rolled_out].spec)} == {"developer"}
    for role in ("viewer", "developer"):
        with acting_as(Identity(name="pat", kind="user", roles={"growth": role}, authenticated=True)):
            if RANK[role] < RANK["developer"]:
                with pytest.raises(ForbiddenError, match="may not runs.start for team growth"):
                    authorize_run(specs[rolled_out], None)
            else:
                authorize_run(specs[rolled_out], None)


CACHED_RUN_MUST_NOT_IMPORT = ("mlflow", "sklearn", "pandas", "numpy", "pyarrow", "skops", "optuna", "fastapi",
                              "starlette", "uvicorn", "alembic", "multiprocessing", "lightgbm", "xgboost",
                              "sqlalchemy.orm", "shipyard.store.models", "click")


def test_a_fully_cached_rerun_imports_no_model_server_or_migration_libraries(project, tmp_path):
    """What a cached re-run costs is mostly imports: the process that finds every step in the cache loads
    neither the model libraries nor the server's, Alembic, the worker pool or SQLAlchemy's ORM (the runner's
    records are Core statements)."""
    path = write_pipeline(project, PIPELINE)
    env = {**os.environ, "SHIPYARD_HOME": str(tmp_path / "cached-home"), "PYTHONPATH": os.pathsep.join(sys.path)}
    env.pop("SHIPYARD_DATABASE_URL", None)
    env.pop("MLFLOW_TRACKING_URI", None)
    first = subprocess.run([sys.executable, "-m", "shipyard", "run", str(path)], env=env, capture_output=True,
                           text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    rerun = textwrap.dedent(f"""
        import json, sys
        from shipyard.cli import main
        code = main(["run", {str(path)!r}, "--json"])
        print(json.dumps({{"code": code, "loaded": sorted(name for name in {list(CACHED_RUN_MUST_NOT_IMPORT)!r}
                                                          if any(m == name or m.startswith(name + ".")
                                                                 for m in sys.modules))}}))
    """)
    done = subprocess.run([sys.executable, "-c", rerun], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    printed, last_line = done.stdout.strip().rsplit("\n", 1)
    result, report = json.loads(printed), json.loads(last_line)
    assert result["cache_hits"] == len(result["steps"]) == 2
    assert report == {"code": 0, "loaded": []}
