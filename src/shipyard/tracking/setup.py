"""Pointing MLflow at the configured tracking store and finding experiments in it."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from shipyard.config import Settings, storage_location
from shipyard.errors import BackendError, RefusedError
from shipyard.tracking.backend import is_database_uri, mlflow_errors, quiet_mlflow, redact_uri, uri_scheme

_initialized: set[str] = set()


def _sqlite_file(uri: str) -> Path | None:
    from sqlalchemy.engine import make_url

    database = make_url(uri).database
    return Path(database).expanduser() if database and database != ":memory:" else None


@contextlib.contextmanager
def exclusive_lock(lock_path: Path) -> Iterator[None]:
    """An advisory lock on a file, held across processes on this machine."""
    with open(lock_path, "a+b") as handle:
        if os.name == "nt":
            import msvcrt

            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
            try:
                yield
            finally:
                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextlib.contextmanager
def tracking_environment(settings: Settings) -> Iterator[None]:
    """MLflow's default store is the settings' store while the block runs, in this process and the
    processes it starts: MLflow read before :func:`configure_mlflow` finds the configured store,
    never a ``./mlflow.db`` or ``./mlruns`` of the current folder."""
    names = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
    previous = {name: os.environ.get(name) for name in names}
    os.environ.update({name: settings.mlflow_tracking_uri for name in names})
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _touch_stores() -> None:
    """Open the tracking and registry stores; on a fresh database MLflow creates its tables here."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    client.search_experiments(max_results=1)
    client.search_registered_models(max_results=1)


def configure_mlflow(settings: Settings) -> None:
    """Point MLflow (tracking and registry) at the settings' store and make sure it answers.

    An embedded SQLite store is created on first use; processes starting at the
    same time take turns, because MLflow's table creation is not safe to run twice
    at once.
    """
    import mlflow

    uri = settings.mlflow_tracking_uri
    database = _sqlite_file(uri) if uri_scheme(uri) == "sqlite" else None
    if database is not None:
        try:
            database.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BackendError(f"cannot create the folder of the MLflow store {database}: {exc}",
                               hint="set SHIPYARD_HOME to a writable folder, or MLFLOW_TRACKING_URI to a server"
                               ) from exc
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    if uri in _initialized:
        return
    with mlflow_errors(settings, "opening the tracking store"), quiet_mlflow():
        if database is not None:
            with exclusive_lock(database.with_name(database.name + ".lock")):
                if not database.exists():
                    _create_sqlite_store(database, settings)
                _touch_stores()
        else:
            _touch_stores()
    _initialized.add(uri)


def _create_sqlite_store(database: Path, settings: Settings) -> None:
    """Create MLflow's tables in a scratch file and move it into place, so that a process killed while
    MLflow migrates leaves no half-built store behind (only a scratch file, removed by the next creator)."""
    from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore as RegistryStore
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore as TrackingStore

    for leftover in database.parent.glob(database.name + ".creating-*"):
        leftover.unlink(missing_ok=True)
    scratch = database.with_name(f"{database.name}.creating-{os.getpid()}")
    scratch_uri = f"sqlite:///{scratch}"
    try:
        for store in (TrackingStore(scratch_uri, settings.mlflow_artifact_location), RegistryStore(scratch_uri)):
            store.engine.dispose()
        os.replace(scratch, database)
    finally:
        scratch.unlink(missing_ok=True)


def experiment_artifact_location(name: str, settings: Settings) -> str | None:
    """Where a new experiment keeps its artifacts: under the MLflow artifact root for a database store (the
    home, or ``SHIPYARD_MLFLOW_ARTIFACTS`` such as ``s3://bucket/mlflow``), else the server's choice."""
    if is_database_uri(settings.mlflow_tracking_uri):
        root = storage_location(settings.mlflow_artifact_url, settings.mlflow_artifact_root)
        return (root / name).resolve().as_uri() if isinstance(root, Path) else f"{root}/{name}"
    return None


def ensure_experiment(name: str, settings: Settings) -> str:
    """The id of the experiment called ``name``, created if missing; safe when processes race to create it."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    configure_mlflow(settings)
    client = MlflowClient()
    with mlflow_errors(settings, f"finding the experiment '{name}'"), quiet_mlflow():
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            try:
                return client.create_experiment(name, artifact_location=experiment_artifact_location(name, settings))
            except MlflowException:
                experiment = client.get_experiment_by_name(name)
                if experiment is None:
                    raise
    if experiment.lifecycle_stage == "deleted":
        raise RefusedError(
            f"the MLflow experiment '{name}' (id {experiment.experiment_id}) at "
            f"{redact_uri(settings.mlflow_tracking_uri)} is deleted, so no run can be logged to it",
            hint=f"restore it with `mlflow experiments restore --experiment-id {experiment.experiment_id}`, "
                 "or rename the pipeline")
    return experiment.experiment_id
