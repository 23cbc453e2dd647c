"""Engines, connections and sessions for the metadata store, created and upgraded on first use.

:func:`connection_scope` is SQLAlchemy Core (what the runner's records need); :func:`session_scope` is the
ORM's session, and the ORM is imported only when a session is first opened.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from shipyard.config import Settings, load_settings
from shipyard.errors import BackendError

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.orm import Session, sessionmaker

HEAD_REVISION = "0013"
VERSION_TABLE = "shipyard_alembic_version"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_S = 30
POSTGRES_CONNECT_TIMEOUT_S = 10
POSTGRES_POOL_SIZE = 20
"""Connections a process keeps open once it has needed them at once. A connection beyond the pool is closed
when it is returned, so a pool smaller than the server's concurrent requests opens a connection per request."""
POSTGRES_POOL_OVERFLOW = 20
_ADVISORY_LOCK_KEY = 0x5348_4950

_lock = threading.Lock()
_engines: dict[str, Engine] = {}
_sessions: dict[str, sessionmaker[Session]] = {}
"""The ORM's session factory per engine URL, made when a session is first asked for."""


def masked(url: str | URL) -> str:
    return make_url(url).render_as_string(hide_password=True)


def get_engine(settings: Settings | None = None) -> Engine:
    url = (settings or load_settings()).database_url
    engine = _engines.get(url)
    if engine is not None:
        return engine
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _open(url)
            _engines[url] = engine
    return engine


@contextlib.contextmanager
def session_scope(settings: Settings | None = None) -> Iterator[Session]:
    """An ORM session that commits when the block ends and rolls back when it raises."""
    settings = settings or load_settings()
    engine = get_engine(settings)
    session = _session_factory(settings.database_url, engine)()
    try:
        yield session
        session.commit()
    except OperationalError as exc:
        session.rollback()
        raise _failed(engine, exc) from exc
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextlib.contextmanager
def connection_scope(settings: Settings | None = None) -> Iterator[Connection]:
    """A Core connection in a transaction that commits when the block ends and rolls back when it raises."""
    engine = get_engine(settings)
    try:
        with engine.begin() as connection:
            yield connection
    except OperationalError as exc:
        raise _failed(engine, exc) from exc


def _session_factory(url: str, engine: Engine) -> sessionmaker[Session]:
    factory = _sessions.get(url)
    if factory is None:
        from sqlalchemy.orm import sessionmaker

        with _lock:
            factory = _sessions.setdefault(url, sessionmaker(engine, expire_on_commit=False))
    return factory


def _failed(engine: Engine, exc: OperationalError) -> BackendError:
    return BackendError(f"the metadata database at {masked(engine.url)} failed: {_reason(exc, engine.url)}; "
                        "check that it is running and reachable, then retry")


def reset_engines() -> None:
    """Close every engine's pooled connections and forget the engines (a later call opens them again)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _sessions.clear()


atexit.register(reset_engines)  # connections close at exit, checkpointing SQLite's log, whatever the GC gets to


def forget_engines_after_fork() -> None:
    """In a forked child: drop the parent's pooled connections without closing them."""
    global _lock
    _lock = threading.Lock()
    for engine in _engines.values():
        engine.dispose(close=False)


def current_revision(engine: Engine) -> str | None:
    """The schema's revision, in one query when the store has one (every start but the first)."""
    with engine.connect() as connection:
        try:
            return connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
        except DBAPIError:
            connection.rollback()
            if not inspect(connection).has_table(VERSION_TABLE):
                return None
            # another process's migration created it since the query failed: read what it wrote
            return connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for the packaged migrations; no alembic.ini is read."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine) -> None:
    """Bring the schema to head; when several processes start at once, one migrates and the others wait."""
    from alembic import command
    from alembic.util import CommandError

    try:
        if engine.dialect.name == "sqlite" and not _is_memory(engine.url):
            _upgrade_sqlite(engine.url)
            return
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY})
            command.upgrade(alembic_config(connection), "head")
    except CommandError as exc:
        raise BackendError(f"cannot upgrade the metadata database at {masked(engine.url)}: {exc}; if a newer "
                           "shipyard wrote it, install that version, or point SHIPYARD_DATABASE_URL at "
                           "another database") from exc


def _upgrade_sqlite(url: URL) -> None:
    from alembic import command

    # A dedicated engine whose transactions start with BEGIN IMMEDIATE: the first process takes SQLite's
    # write lock and migrates; the others wait for it (busy timeout) and then find the schema at head.
    migrator = create_engine(url, poolclass=NullPool, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})

    @event.listens_for(migrator, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        _sqlite_pragmas(dbapi_connection, _record)

    @event.listens_for(migrator, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    try:
        with migrator.begin() as connection:
            command.upgrade(alembic_config(connection), "head")
    finally:
        migrator.dispose()


def _open(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise BackendError("the metadata database URL is not one SQLAlchemy understands; set "
                           "SHIPYARD_DATABASE_URL to e.g. postgresql+psycopg://user:password@host:5432/dbname "
                           "or unset it to use the embedded SQLite store under SHIPYARD_HOME") from None
    try:
        engine = _create(parsed)
    except ArgumentError as exc:
        raise BackendError(f"cannot use the metadata database at {masked(parsed)}: {exc}; install the driver "
                           "the URL names or fix SHIPYARD_DATABASE_URL") from exc
    except OSError as exc:
        raise _unusable(parsed, exc) from exc
    try:
        if current_revision(engine) != HEAD_REVISION:
            upgrade(engine)
    except (SQLAlchemyError, OSError) as exc:
        engine.dispose()
        raise _unusable(parsed, exc) from exc
    except BaseException:
        engine.dispose()
        raise
    return engine


def _create(url: URL) -> Engine:
    if url.get_backend_name() == "sqlite":
        if not _is_memory(url):
            Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    options: dict[str, Any] = {"pool_pre_ping": True, "pool_size": POSTGRES_POOL_SIZE,
                               "max_overflow": POSTGRES_POOL_OVERFLOW}
    if url.get_driver_name() in ("psycopg", "psycopg2") and "connect_timeout" not in url.query:
        options["connect_args"] = {"connect_timeout": POSTGRES_CONNECT_TIMEOUT_S}
    return create_engine(url, **options)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        _write_ahead_log(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _write_ahead_log(cursor: Any, *, patience_s: float = 30.0) -> None:
    """Put the file in WAL mode (it stays so). Switching needs the file to itself and SQLite answers "database is
    locked" at once, without waiting, when processes that start together all try it: those that lose wait."""
    import sqlite3
    import time

    deadline = time.monotonic() + patience_s
    while True:
        try:
            if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _is_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:") or url.query.get("mode") == "memory"


def _reason(exc: BaseException, url: URL) -> str:
    message = str(getattr(exc, "orig", None) or exc).strip()
    line = message.splitlines()[0] if message else type(exc).__name__
    return line.replace(url.password, "***") if url.password else line


def _unusable(url: URL, exc: BaseException) -> BackendError:
    where = f"the metadata database at {masked(url)}: {_reason(exc, url)}"
    if url.get_backend_name() == "sqlite":
        folder = Path(url.database or ".").expanduser().parent
        return BackendError(f"cannot open {where}. Check that the folder {folder} can be created and written "
                            "(it is SHIPYARD_HOME unless SHIPYARD_DATABASE_URL points elsewhere)")
    return BackendError(f"cannot use {where}. Check that the server is running and reachable from this "
                        "machine, that the database exists and the user may connect and create tables, and "
                        "that SHIPYARD_DATABASE_URL is right (unset it to use the embedded SQLite store "
                        "under SHIPYARD_HOME)")
