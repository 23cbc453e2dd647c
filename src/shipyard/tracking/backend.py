"""Talking to MLflow: its failures become :class:`BackendError`, its chatter stays quiet."""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

from shipyard.config import Settings
from shipyard.errors import BackendError, ShipyardError

_SERVER_SCHEMES = ("http", "https", "databricks", "databricks-uc", "uc")
_DATABASE_SCHEMES = ("sqlite", "postgresql", "mysql", "mssql")
_CHATTY_LOGGERS = ("mlflow", "alembic")


def uri_scheme(uri: str) -> str:
    return urlsplit(uri).scheme.split("+", 1)[0].lower()


def is_database_uri(uri: str) -> bool:
    return uri_scheme(uri) in _DATABASE_SCHEMES


def redact_uri(uri: str) -> str:
    """The URI with any password replaced by ``***``."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _scrub(text: str, uri: str) -> str:
    password = urlsplit(uri).password
    if password is None:
        return text
    return text.replace(uri, redact_uri(uri)).replace(f":{password}@", ":***@")


def _hint(settings: Settings) -> str:
    uri = settings.mlflow_tracking_uri
    scheme = uri_scheme(uri)
    if scheme == "sqlite":
        return (f"check that the folder of {redact_uri(uri)} exists and is writable and that no other program "
                "holds the file locked; or set MLFLOW_TRACKING_URI to an MLflow server")
    if scheme in _SERVER_SCHEMES:
        return (f"check that the MLflow server at {redact_uri(uri)} is running and reachable from this machine, "
                f"or unset MLFLOW_TRACKING_URI to use the embedded store under {settings.home}")
    return (f"check that the database at {redact_uri(uri)} is reachable and its credentials are right, "
            f"or unset MLFLOW_TRACKING_URI to use the embedded store under {settings.home}")


def _backend_exception_types() -> tuple[type[BaseException], ...]:
    from mlflow.exceptions import MlflowException

    types: list[type[BaseException]] = [MlflowException, OSError]
    for module, name in (("sqlalchemy.exc", "SQLAlchemyError"), ("requests", "RequestException"),
                         ("alembic.util.exc", "CommandError")):
        with contextlib.suppress(ImportError, AttributeError):
            types.append(getattr(__import__(module, fromlist=[name]), name))
    return tuple(types)


@contextlib.contextmanager
def mlflow_errors(settings: Settings, doing: str) -> Iterator[None]:
    """Turn failures of MLflow, its database or its artifact storage into :class:`BackendError`."""
    try:
        yield
    except ShipyardError:
        raise
    except _backend_exception_types() as exc:
        detail = (getattr(exc, "message", None) or str(exc) or type(exc).__name__).strip().splitlines()[0]
        uri = settings.mlflow_tracking_uri
        raise BackendError(f"MLflow at {redact_uri(uri)} failed while {doing}: {_scrub(detail, uri)}",
                           hint=_hint(settings)) from exc


@contextlib.contextmanager
def quiet_mlflow() -> Iterator[None]:
    """MLflow's info logs, progress bars and advisory warnings, silenced for the duration."""
    loggers = [logging.getLogger(name) for name in _CHATTY_LOGGERS]
    levels = [logger.level for logger in loggers]
    progress = os.environ.get("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR")
    os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
    try:
        for logger in loggers:
            logger.setLevel(logging.WARNING)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)
        if progress is None:
            os.environ.pop("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", None)
        else:
            os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = progress
