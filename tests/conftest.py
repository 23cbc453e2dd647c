"""Shared fixtures: an isolated SHIPYARD_HOME, and databases on the real PostgreSQL server."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from shipyard.store.db import reset_engines

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
AIRFLOW_VENV = Path(os.environ.get("SHIPYARD_AIRFLOW_VENV") or Path(__file__).resolve().parents[1] / ".airflow-venv")
"""Apache Airflow's own virtualenv (`make airflow-venv`)."""


@pytest.fixture
def shipyard_home(tmp_path, monkeypatch):
    """A fresh SHIPYARD_HOME (not created yet), with the database and MLflow at their defaults under it."""
    home = tmp_path / "home"
    monkeypatch.setenv("SHIPYARD_HOME", str(home))
    monkeypatch.delenv("SHIPYARD_DATABASE_URL", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    reset_engines()
    yield home
    reset_engines()


@pytest.fixture(scope="session")
def postgres_server_url():
    """The server's maintenance URL; skips (or fails with SHIPYARD_REQUIRE_POSTGRES=1) when none answers."""
    url = os.environ.get("SHIPYARD_TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL
    shown = make_url(url).render_as_string(hide_password=True)
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        reason = f"PostgreSQL not reachable at {shown} ({type(exc).__name__}: {str(exc).splitlines()[0]})"
        if os.environ.get("SHIPYARD_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{reason}; SHIPYARD_REQUIRE_POSTGRES=1 makes the PostgreSQL tests mandatory")
        pytest.skip(f"{reason}; set SHIPYARD_REQUIRE_POSTGRES=1 to make this a failure")
    finally:
        engine.dispose()
    return url


@pytest.fixture(scope="session")
def new_postgres_database(postgres_server_url):
    """A factory: each call creates an empty database on the server and returns its URL; all are dropped at the end."""
    admin = create_engine(postgres_server_url, isolation_level="AUTOCOMMIT")
    created: list[str] = []

    def create(prefix: str = "shipyard_test") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return make_url(postgres_server_url).set(database=name).render_as_string(hide_password=False)

    yield create
    reset_engines()
    with admin.connect() as connection:
        for name in created:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def postgres_database_url(new_postgres_database):
    """One database for the whole test session."""
    return new_postgres_database()


def _clean_shipyard_tables(url: str) -> None:
    from shipyard.store.models import Base

    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            present = set(inspect(connection).get_table_names())
            tables = [t.name for t in Base.metadata.sorted_tables if t.name in present]
            if tables:
                connection.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE"))
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path, monkeypatch):
    """The test runs once on a SQLite file and once on the session's PostgreSQL database (its shipyard
    tables emptied first); SHIPYARD_HOME and SHIPYARD_DATABASE_URL point shipyard at it."""
    home = tmp_path / "home"
    if request.param == "sqlite":
        url = f"sqlite:///{home / 'shipyard.db'}"
    else:
        url = request.getfixturevalue("postgres_database_url")
        _clean_shipyard_tables(url)
    monkeypatch.setenv("SHIPYARD_HOME", str(home))
    monkeypatch.setenv("SHIPYARD_DATABASE_URL", url)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    reset_engines()
    yield url
    reset_engines()


@pytest.fixture(scope="session")
def airflow(tmp_path_factory):
    """A function running the `airflow` CLI against a fresh Airflow home (its own SQLite database)."""
    executable = AIRFLOW_VENV / "bin" / "airflow"
    if not executable.is_file():
        reason = f"Apache Airflow is not installed at {AIRFLOW_VENV} (`make airflow-venv` installs it)"
        if os.environ.get("SHIPYARD_REQUIRE_AIRFLOW") == "1":
            pytest.fail(f"{reason}; SHIPYARD_REQUIRE_AIRFLOW=1 makes the Airflow tests mandatory")
        pytest.skip(f"{reason}; set SHIPYARD_REQUIRE_AIRFLOW=1 to make this a failure")
    home = tmp_path_factory.mktemp("airflow-home")
    dags = home / "dags"
    dags.mkdir()
    # shipyard's and MLflow's variables come from each call's `extra`: the session's environment at first use
    # holds whatever the test that happened to start Airflow had set (another test's MLflow store, say)
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("AIRFLOW", "PYTHON", "SHIPYARD_", "MLFLOW_"))}
    env.update(AIRFLOW_HOME=str(home), AIRFLOW__CORE__DAGS_FOLDER=str(dags), AIRFLOW__CORE__LOAD_EXAMPLES="False",
               AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT="120")

    def run(*args: str, extra: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run([str(executable), *args], env={**env, **(extra or {})}, capture_output=True,
                              text=True, timeout=timeout)

    migrated = run("db", "migrate")
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    run.home, run.dags, run.python, run.env = home, dags, executable.parent / "python", env
    return run


def pytest_collection_modifyitems(config, items):
    """Modules holding a test marked ``slow`` run first (each keeps its own order): under pytest-xdist's
    ``--dist loadfile`` a module is one unit of work, and a long one started last would run alone at the end."""
    slow_modules = {item.nodeid.split("::", 1)[0] for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.nodeid.split("::", 1)[0] not in slow_modules)
