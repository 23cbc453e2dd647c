"""Engines and sessions for the metadata store, created and upgraded on first use."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from shipyard.config import Settings, load_settings
from shipyard.errors import BackendError

HEAD_REVISION = "0001"
VERSION_TABLE = "shipyard_alembic_version"
_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_ADVISORY_LOCK = 0x5348_4950  # "SHIP"

_engines: dict[str, Engine] = {}
_sessions: dict[str, sessionmaker] = {}


def masked(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _create(url: str, settings: Settings) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 60})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()
    else:
        engine = create_engine(url, pool_pre_ping=True)
    return engine


def _current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        try:
            return connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
        except DBAPIError:
            return None


def upgrade(engine: Engine) -> None:
    """Bring the schema to the head revision; safe when several processes start at once."""
    from alembic import command
    from alembic.config import Config

    def run(connection) -> None:
        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _ADVISORY_LOCK})
            try:
                run(connection)
                connection.commit()
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _ADVISORY_LOCK})
                connection.commit()
        return
    database = engine.url.database
    lock_path = Path(f"{database}.migrate.lock") if database and database != ":memory:" else None
    with open(lock_path, "w") if lock_path else contextlib.nullcontext() as lock:
        if lock is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        with engine.begin() as connection:
            run(connection)


def get_engine(settings: Settings | None = None) -> Engine:
    settings = settings or load_settings()
    url = settings.database_url
    engine = _engines.get(url)
    if engine is not None:
        return engine
    engine = _create(url, settings)
    try:
        if _current_revision(engine) != HEAD_REVISION:
            upgrade(engine)
    except (OperationalError, DBAPIError) as exc:
        engine.dispose()
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise BackendError(
            f"cannot use the metadata database at {masked(url)}: {reason}",
            hint="check that the server is running and SHIPYARD_DATABASE_URL is right "
                 "(unset it to use the embedded SQLite store)") from None
    _engines[url] = engine
    _sessions[url] = sessionmaker(engine, expire_on_commit=False)
    return engine


@contextlib.contextmanager
def session_scope(settings: Settings | None = None) -> Iterator[Session]:
    settings = settings or load_settings()
    get_engine(settings)
    session = _sessions[settings.database_url]()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def reset_engines() -> None:
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()
    _sessions.clear()


def forget_engines_after_fork() -> None:
    """In a forked child: drop the parent's pooled connections without closing them."""
    for engine in _engines.values():
        engine.dispose(close=False)
