"""Shared fixtures: an isolated SHIPYARD_HOME, and the real PostgreSQL server."""

from __future__ import annotations

import os
import uuid

import pytest

from shipyard.store.db import reset_engines

POSTGRES_URL = os.environ.get("SHIPYARD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE_POSTGRES = os.environ.get("SHIPYARD_REQUIRE_POSTGRES") == "1"


@pytest.fixture
def shipyard_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("SHIPYARD_HOME", str(home))
    monkeypatch.delenv("SHIPYARD_DATABASE_URL", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    reset_engines()
    yield home
    reset_engines()


@pytest.fixture(scope="session")
def postgres_server_url():
    from sqlalchemy import create_engine, text

    engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        reason = f"PostgreSQL not reachable at {POSTGRES_URL} ({type(exc).__name__})"
        if REQUIRE_POSTGRES:
            pytest.fail(f"{reason}, and SHIPYARD_REQUIRE_POSTGRES=1 makes it mandatory")
        pytest.skip(f"{reason}; set SHIPYARD_REQUIRE_POSTGRES=1 to make this a failure")
    finally:
        engine.dispose()
    return POSTGRES_URL


@pytest.fixture(scope="session")
def postgres_database_url(postgres_server_url):
    """A fresh database for this test session, dropped at the end."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"shipyard_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(postgres_server_url).set(database=name).render_as_string(hide_password=False)
    yield url
    reset_engines()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate(url: str) -> None:
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(url)
    with engine.begin() as connection:
        tables = [t for t in inspect(connection).get_table_names() if not t.endswith("alembic_version")]
        if tables:
            connection.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path, monkeypatch):
    """Each test runs once on SQLite and once on PostgreSQL; the env points shipyard at it."""
    monkeypatch.setenv("SHIPYARD_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    reset_engines()
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'home' / 'shipyard.db'}"
    else:
        url = request.getfixturevalue("postgres_database_url")
        from shipyard.config import load_settings
        from shipyard.store.db import get_engine

        monkeypatch.setenv("SHIPYARD_DATABASE_URL", url)
        get_engine(load_settings())
        _truncate(url)
    monkeypatch.setenv("SHIPYARD_DATABASE_URL", url)
    yield url
    reset_engines()
