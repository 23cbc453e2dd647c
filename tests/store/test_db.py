"""The store is created and upgraded on first use, on SQLite and PostgreSQL."""

import contextlib
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event, inspect, make_url, text

from shipyard.config import Settings, load_settings
from shipyard.errors import BackendError
from shipyard.store import db
from shipyard.store.models import Base, PipelineRun

SHIPYARD_TABLES = {"pipeline_runs", "step_runs", "artifacts", "cache_entries"}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def fresh_url(request, tmp_path, monkeypatch):
    """An empty database that shipyard has never seen, pointed at by the environment."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'not' / 'yet' / 'shipyard.db'}"
    else:
        url = request.getfixturevalue("new_postgres_database")()
    monkeypatch.setenv("SHIPYARD_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SHIPYARD_DATABASE_URL", url)
    db.reset_engines()
    yield url
    db.reset_engines()


def _revisions(url):
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text(f"SELECT version_num FROM {db.VERSION_TABLE}")).scalars().all()
    finally:
        engine.dispose()


def test_first_use_creates_the_home_folder_and_the_sqlite_file(shipyard_home):
    assert not shipyard_home.exists()
    engine = db.get_engine()
    assert (shipyard_home / "shipyard.db").is_file()
    assert SHIPYARD_TABLES <= set(inspect(engine).get_table_names())


def test_first_use_creates_the_schema_at_head(fresh_url):
    engine = db.get_engine()
    assert SHIPYARD_TABLES | {db.VERSION_TABLE} <= set(inspect(engine).get_table_names())
    assert "alembic_version" not in inspect(engine).get_table_names()
    assert _revisions(fresh_url) == [db.HEAD_REVISION]


def test_upgrade_is_idempotent(fresh_url):
    engine = db.get_engine()
    db.upgrade(engine)
    db.upgrade(engine)
    db.reset_engines()
    db.get_engine()
    assert _revisions(fresh_url) == [db.HEAD_REVISION]


def test_the_engine_is_cached_per_url_until_reset(database_url, tmp_path):
    engine = db.get_engine()
    assert db.get_engine(load_settings()) is engine
    other = Settings(home=tmp_path, database_url=f"sqlite:///{tmp_path / 'other.db'}",
                     mlflow_tracking_uri="", mlflow_artifact_root=tmp_path)
    assert db.get_engine(other) is not engine
    db.reset_engines()
    assert db.get_engine() is not engine


CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path

    import alembic.command  # imported before the start line so that the processes really race
    from shipyard.store.db import get_engine

    Path(sys.argv[1]).touch()
    while not Path(sys.argv[2]).exists():
        time.sleep(0.002)
    get_engine()
""")


def test_a_schema_another_process_migrates_just_after_the_revision_query_failed_is_read_not_refused(fresh_url):
    """The revision query fails on a fresh database; before the check for the table, another process's migration
    commits it: the revision it wrote is read, not the failed query raised."""
    if fresh_url.startswith("sqlite"):
        Path(make_url(fresh_url).database).parent.mkdir(parents=True, exist_ok=True)
    engine, other = create_engine(fresh_url), create_engine(fresh_url)
    migrated = []

    def another_process_migrates(_context):
        if not migrated:
            migrated.append(True)
            db.upgrade(other)

    event.listen(engine, "handle_error", another_process_migrates)
    try:
        assert db.current_revision(engine) == db.HEAD_REVISION
        assert migrated
    finally:
        engine.dispose()
        other.dispose()


def test_processes_starting_at_once_on_a_fresh_database_all_succeed(fresh_url, tmp_path):
    go = tmp_path / "go"
    env = {**os.environ, "SHIPYARD_DATABASE_URL": fresh_url, "SHIPYARD_HOME": str(tmp_path / "home")}
    children = [subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path / f"ready{i}"), str(go)], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(6)]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready{i}").exists() for i in range(len(children))):
        assert time.monotonic() < deadline, "the child processes did not start"
        time.sleep(0.01)
    go.touch()
    outcomes = [(child.wait(timeout=120), child.stderr.read()) for child in children]
    assert [rc for rc, _ in outcomes] == [0] * len(children), "\n".join(err for _, err in outcomes)
    assert _revisions(fresh_url) == [db.HEAD_REVISION]


def _differences(connection):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    context = MigrationContext.configure(connection, opts={
        "version_table": db.VERSION_TABLE, "compare_type": True,
        "include_name": lambda name, type_, _parents: type_ != "table" or name in Base.metadata.tables})
    return compare_metadata(context, Base.metadata)


def test_the_migrations_create_exactly_the_models(fresh_url):
    with db.get_engine().connect() as connection:
        assert _differences(connection) == []


def test_tables_of_other_tools_in_the_same_database_are_left_alone(fresh_url):
    if fresh_url.startswith("sqlite"):
        Path(fresh_url.removeprefix("sqlite:///")).parent.mkdir(parents=True)
    engine = create_engine(fresh_url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
        connection.execute(text("INSERT INTO alembic_version VALUES ('optuna123')"))
        connection.execute(text("CREATE TABLE trials (trial_id INTEGER PRIMARY KEY)"))
    engine.dispose()
    with db.get_engine().connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == "optuna123"
        assert {"trials", "alembic_version"} <= set(inspect(connection).get_table_names())
        assert _differences(connection) == []


def test_downgrade_to_base_then_upgrade_again(fresh_url):
    from alembic import command

    engine = db.get_engine()
    with engine.begin() as connection:
        command.downgrade(db.alembic_config(connection), "base")
    assert not SHIPYARD_TABLES & set(inspect(engine).get_table_names())
    db.upgrade(engine)
    assert SHIPYARD_TABLES <= set(inspect(engine).get_table_names())


def test_head_revision_constant_matches_the_scripts():
    from alembic.script import ScriptDirectory

    assert ScriptDirectory.from_config(db.alembic_config()).get_current_head() == db.HEAD_REVISION


def test_a_schema_from_a_newer_shipyard_is_refused_clearly(fresh_url):
    db.get_engine()
    db.reset_engines()
    engine = create_engine(fresh_url)
    with engine.begin() as connection:
        connection.execute(text(f"UPDATE {db.VERSION_TABLE} SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(BackendError, match="9999") as caught:
        db.get_engine()
    assert "newer shipyard" in caught.value.message


def test_an_unreachable_server_is_a_backend_error_with_the_password_masked(shipyard_home, monkeypatch):
    monkeypatch.setenv("SHIPYARD_DATABASE_URL", "postgresql+psycopg://alice:s3cret@127.0.0.1:1/none")
    with pytest.raises(BackendError) as caught:
        db.get_engine()
    error = caught.value
    assert "s3cret" not in error.render() and "s3cret" not in str(error)
    assert "postgresql+psycopg://alice:***@127.0.0.1:1/none" in error.message
    assert "server is running" in error.message and "SHIPYARD_DATABASE_URL" in error.message
    assert error.exit_code == 5


def test_an_unwritable_sqlite_location_is_a_backend_error(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("SHIPYARD_HOME", str(blocker / "home"))
    monkeypatch.delenv("SHIPYARD_DATABASE_URL", raising=False)
    db.reset_engines()
    with pytest.raises(BackendError, match="cannot open the metadata database at sqlite:///") as caught:
        db.get_engine()
    assert str(blocker / "home") in caught.value.message and "SHIPYARD_HOME" in caught.value.message


def test_a_url_that_is_not_a_url_is_a_backend_error(shipyard_home, monkeypatch):
    monkeypatch.setenv("SHIPYARD_DATABASE_URL", "not a url at all")
    with pytest.raises(BackendError, match="SHIPYARD_DATABASE_URL"):
        db.get_engine()


def test_session_scope_commits_on_success_and_rolls_back_on_error(database_url):
    def run(run_id):
        return PipelineRun(id=run_id, pipeline="p", spec_text="", spec_digest="0" * 64, status="pending",
                           options={})

    with db.session_scope() as session:
        session.add(run("kept"))
    with pytest.raises(RuntimeError):
        with db.session_scope() as session:
            session.add(run("dropped"))
            session.flush()
            raise RuntimeError("boom")
    with db.session_scope() as session:
        assert [r.id for r in session.query(PipelineRun)] == ["kept"]


def test_sqlite_connections_use_wal_and_enforce_foreign_keys(shipyard_home):
    with db.get_engine().connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_a_process_closes_the_store_at_exit_even_with_its_objects_frozen(shipyard_home):
    """The exit handler closes the pooled connections (SQLite then checkpoints and removes its log) although the
    GC, with every object frozen as the CLI leaves them, never gets to them."""
    record = "from shipyard.store import runs; runs.cache_put('k' * 64, step_kind='user', outputs={}, run_id='r')"
    env = {**os.environ, "SHIPYARD_HOME": str(shipyard_home), "PYTHONPATH": os.pathsep.join(sys.path)}
    env.pop("SHIPYARD_DATABASE_URL", None)
    for ending in ("", "import gc; gc.freeze()"):
        done = subprocess.run([sys.executable, "-c", f"{record}\n{ending}"], env=env, capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, done.stderr
        assert (shipyard_home / "shipyard.db").is_file()
        assert not (shipyard_home / "shipyard.db-wal").exists()


@pytest.mark.postgres
def test_postgresql_connections_used_at_once_stay_open_for_the_next_requests(new_postgres_database, tmp_path,
                                                                              monkeypatch):
    monkeypatch.setenv("SHIPYARD_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SHIPYARD_DATABASE_URL", new_postgres_database())
    db.reset_engines()
    try:
        engine = db.get_engine()
        with contextlib.ExitStack() as held:  # sixteen requests at once, each in its own session
            for _ in range(16):
                held.enter_context(db.session_scope()).execute(text("SELECT 1"))
        assert engine.pool.checkedin() == 16
        connections = []
        event.listen(engine, "connect", lambda *args: connections.append(args))
        with contextlib.ExitStack() as held:
            for _ in range(16):
                held.enter_context(db.session_scope()).execute(text("SELECT 1"))
        assert connections == []  # the second sixteen reused the first sixteen's connections
    finally:
        db.reset_engines()
