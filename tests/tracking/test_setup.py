"""Pointing MLflow at the store, creating experiments, and how failures read."""

import multiprocessing
import subprocess
import sys
from dataclasses import replace

import pytest

from shipyard.config import Settings
from shipyard.errors import BackendError, RefusedError
from shipyard.tracking.setup import configure_mlflow, ensure_experiment


def _settings(home) -> Settings:
    return Settings(home=home, database_url=f"sqlite:///{home / 'shipyard.db'}",
                    mlflow_tracking_uri=f"sqlite:///{home / 'mlflow.db'}", mlflow_artifact_root=home / "mlartifacts")


def test_experiments_keep_their_artifacts_under_the_home(mlflow_home):
    from mlflow.tracking import MlflowClient

    experiment_id = ensure_experiment("placed", mlflow_home)
    assert ensure_experiment("placed", mlflow_home) == experiment_id
    experiment = MlflowClient().get_experiment(experiment_id)
    assert experiment.name == "placed"
    assert experiment.artifact_location == (mlflow_home.mlflow_artifact_root / "placed").as_uri()
    assert (mlflow_home.home / "mlflow.db").is_file()


def test_configure_points_tracking_and_registry_at_the_settings(mlflow_home):
    import mlflow

    configure_mlflow(mlflow_home)
    assert mlflow.get_tracking_uri() == mlflow_home.mlflow_tracking_uri
    assert mlflow.get_registry_uri() == mlflow_home.mlflow_tracking_uri


def test_a_deleted_experiment_is_refused_with_how_to_restore_it(mlflow_home):
    from mlflow.tracking import MlflowClient

    experiment_id = ensure_experiment("doomed", mlflow_home)
    MlflowClient().delete_experiment(experiment_id)
    with pytest.raises(RefusedError, match="'doomed'.*is deleted") as caught:
        ensure_experiment("doomed", mlflow_home)
    assert f"--experiment-id {experiment_id}" in caught.value.hint


def _ensure_in_child(home, barrier):
    import mlflow  # noqa: F401  (imported before the barrier so that the processes start together)

    barrier.wait()
    try:
        return ensure_experiment("raced", _settings(home))
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def test_processes_racing_on_a_fresh_store_agree_on_one_experiment(tmp_path):
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        barrier = manager.Barrier(3)
        with context.Pool(3) as pool:
            results = pool.starmap(_ensure_in_child, [(tmp_path / "home", barrier)] * 3)
    assert len(set(results)) == 1 and results[0].isdigit(), results


def test_an_unusable_home_is_a_backend_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(BackendError, match="cannot create the folder"):
        configure_mlflow(_settings(blocker / "home"))


def test_an_unreachable_server_is_a_backend_error_without_its_password(mlflow_home, monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    settings = replace(mlflow_home, mlflow_tracking_uri="http://admin:hunter2@127.0.0.1:9")
    try:
        with pytest.raises(BackendError) as caught:
            ensure_experiment("anything", settings)
    finally:
        configure_mlflow(mlflow_home)
    assert "MLflow at http://admin:***@127.0.0.1:9 failed while opening the tracking store" in caught.value.message
    assert "hunter2" not in caught.value.render()
    assert "is running and reachable" in caught.value.hint


def test_importing_the_packages_does_not_import_mlflow_or_skops():
    code = ("import sys, shipyard.tracking, shipyard.registry, shipyard.tracking.pipeline_run, "
            "shipyard.registry.loading, shipyard.registry.trust; "
            "print(sorted(m for m in ('mlflow', 'skops', 'sklearn', 'lightgbm') if m in sys.modules)); "
            "print(shipyard.tracking.__all__ == sorted(shipyard.tracking.__all__), "
            "shipyard.registry.__all__ == sorted(shipyard.registry.__all__))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[:2] == ["[]", "True True"]


def test_lazy_exports_resolve():
    import shipyard.registry
    import shipyard.tracking

    for package in (shipyard.tracking, shipyard.registry):
        for name in package.__all__:
            assert getattr(package, name) is not None
    with pytest.raises(AttributeError):
        shipyard.tracking.nothing_here  # noqa: B018


CREATE_STORE = """
import sys
from pathlib import Path
from shipyard.config import Settings
from shipyard.tracking.setup import configure_mlflow
home = Path(sys.argv[1])
configure_mlflow(Settings(home=home, database_url=f"sqlite:///{home / 'shipyard.db'}",
                          mlflow_tracking_uri=f"sqlite:///{home / 'mlflow.db'}",
                          mlflow_artifact_root=home / "mlartifacts"))
"""


@pytest.mark.parametrize("delay_s", [0.0, 0.5, 1.5])
def test_a_process_killed_while_mlflow_creates_its_store_leaves_nothing_half_built(tmp_path, delay_s):
    import contextlib
    import os
    import signal
    import time

    from mlflow.tracking import MlflowClient

    home = tmp_path / "home"
    home.mkdir()
    child = subprocess.Popen([sys.executable, "-c", CREATE_STORE, str(home)])
    deadline = time.monotonic() + 120
    while not list(home.glob("mlflow.db.creating-*")) and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(delay_s)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    if (home / "mlflow.db").exists():  # there only once complete: migrated to the end, no half-built table
        import sqlite3

        with contextlib.closing(sqlite3.connect(home / "mlflow.db")) as db:
            tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert "alembic_version" in tables and not any(name.startswith("_alembic_tmp") for name in tables)

    settings = _settings(home)
    ensure_experiment("after-the-kill", settings)
    assert MlflowClient().get_experiment_by_name("after-the-kill") is not None
    assert not list(home.glob("mlflow.db.creating-*"))
