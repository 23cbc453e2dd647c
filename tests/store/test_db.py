"""The store is created and upgraded on first use, on SQLite and PostgreSQL."""

import multiprocessing

import pytest
from sqlalchemy import inspect, text

from shipyard.config import load_settings
from shipyard.errors import BackendError
from shipyard.store import db
from shipyard.store.models import Base


def test_first_use_creates_the_schema_at_head(database_url):
    engine = db.get_engine(load_settings())
    tables = set(inspect(engine).get_table_names())
    assert {"pipeline_runs", "step_runs", "artifacts", "cache_entries", db.VERSION_TABLE} <= tables
    with engine.connect() as connection:
        assert connection.execute(text(f"SELECT version_num FROM {db.VERSION_TABLE}")).scalar() == db.HEAD_REVISION


def test_upgrade_is_idempotent(database_url):
    engine = db.get_engine(load_settings())
    db.upgrade(engine)
    db.upgrade(engine)
    with engine.connect() as connection:
        assert connection.execute(text(f"SELECT count(*) FROM {db.VERSION_TABLE}")).scalar() == 1


def test_migrations_match_the_models(database_url):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = db.get_engine(load_settings())
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": db.VERSION_TABLE})
        differences = [d for d in compare_metadata(context, Base.metadata)
                       if not (d[0] == "remove_table" and not d[1].name.startswith(
                           ("pipeline_runs", "step_runs", "artifacts", "cache_entries")))]
    assert differences == []


def test_head_revision_constant_matches_the_scripts():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(db._MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == db.HEAD_REVISION


def _first_use(url, queue):
    import os

    os.environ["SHIPYARD_DATABASE_URL"] = url
    try:
        db.get_engine(load_settings())
        queue.put("ok")
    except Exception as exc:  # reported to the parent
        queue.put(repr(exc))


def _fresh_url(database_url, tmp_path, request):
    if database_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    name = f"fresh_{request.node.name[-8:].strip('[]')}_{id(request) % 10000}"
    admin = create_engine(request.getfixturevalue("postgres_server_url"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    request.addfinalizer(lambda: _drop(admin, name))
    return make_url(database_url).set(database=name).render_as_string(hide_password=False)


def _drop(admin, name):
    db.reset_engines()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_two_processes_creating_the_store_at_once(database_url, tmp_path, request):
    url = _fresh_url(database_url, tmp_path, request)
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    processes = [ctx.Process(target=_first_use, args=(url, queue)) for _ in range(3)]
    for p in processes:
        p.start()
    results = [queue.get(timeout=120) for _ in processes]
    for p in processes:
        p.join(timeout=30)
    assert results == ["ok", "ok", "ok"]


def test_unreachable_database_is_a_backend_error_with_masked_password(monkeypatch):
    monkeypatch.setenv("SHIPYARD_DATABASE_URL", "postgresql+psycopg://alice:s3cret@127.0.0.1:1/none")
    db.reset_engines()
    with pytest.raises(BackendError) as caught:
        db.get_engine(load_settings())
    assert "s3cret" not in caught.value.render()
    assert "127.0.0.1:1" in caught.value.message
    assert "SHIPYARD_DATABASE_URL" in caught.value.hint
