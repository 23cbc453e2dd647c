"""The circuit breaker around an MLflow tracking server, and the local store a run falls back to.

Only a server (``http``/``https`` tracking URI) can be out: an embedded or database store is
used directly, with no probe and no network. For a server, a run's tracking first probes it with
a short timeout and no retries; when it does not answer, or fails with a connection error, a
timeout or a 5xx while the run is being logged, the breaker opens and the whole run is logged
again into the fallback store under ``SHIPYARD_HOME/tracking-fallback`` (SQLite and local
artifacts), from where ``shipyard tracking sync`` replays it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from shipyard.config import Settings
from shipyard.errors import BackendError
from shipyard.tracking.backend import redact_uri, uri_scheme

_log = logging.getLogger(__name__)
T = TypeVar("T")

FALLBACK_FOLDER = "tracking-fallback"
PENDING_SYNC = "pending-sync"
SYNCED = "synced"
SYNC_COMMAND = "shipyard tracking sync"

PROBE_TIMEOUT_S = 3
"""Seconds the probe waits for the server's answer; it does not retry."""
RUN_MAX_RETRIES = 2
RUN_BACKOFF_FACTOR = 1
"""Retries (with backoff in seconds) of each request while a run is logged to a server that answered the
probe, so that a server dying mid-run opens the breaker within seconds, not MLflow's minutes; a gateway's
loads use them too."""

_SERVER_SCHEMES = ("http", "https")


def is_server_uri(uri: str) -> bool:
    return uri_scheme(uri) in _SERVER_SCHEMES


def fallback_settings(settings: Settings) -> Settings:
    """The settings with MLflow pointed at the local fallback store under the home."""
    folder = settings.home / FALLBACK_FOLDER
    return dataclasses.replace(settings, mlflow_tracking_uri=f"sqlite:///{folder / 'mlflow.db'}",
                               mlflow_artifact_root=folder / "artifacts", mlflow_artifact_url=None)


@contextlib.contextmanager
def _mlflow_http(*, max_retries: int, timeout_s: int | None = None, backoff_factor: int | None = None,
                 keep_user_values: bool = True) -> Iterator[None]:
    """MLflow's HTTP knobs for the block (read by MLflow at each request)."""
    wanted = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": max_retries, "MLFLOW_HTTP_REQUEST_TIMEOUT": timeout_s,
              "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": backoff_factor}
    changed = {name: str(value) for name, value in wanted.items()
               if value is not None and not (keep_user_values and name in os.environ)}
    previous = {name: os.environ.get(name) for name in changed}
    os.environ.update(changed)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def few_retries():
    """MLflow's requests retried a few times only, for the block: a server that is out fails them in
    seconds. Values the user set in the environment are kept."""
    return _mlflow_http(max_retries=RUN_MAX_RETRIES, backoff_factor=RUN_BACKOFF_FACTOR)


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) says the server is unreachable, timed out or failed with a 5xx."""
    import requests
    from mlflow.exceptions import MlflowException, RestException

    transport = (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                 requests.exceptions.RetryError, requests.exceptions.ChunkedEncodingError, ConnectionError)
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, transport):
            return True
        if isinstance(current, MlflowException):
            from_server = isinstance(current, RestException) or "API request to" in current.message
            if from_server and current.get_http_status_code() >= 500:
                return True
        current = current.__cause__ or current.__context__
    return False


def server_answers(settings: Settings) -> bool:
    """Whether the tracking server answers a cheap request now (True for a store that is not a server)."""
    uri = settings.mlflow_tracking_uri
    if not is_server_uri(uri):
        return True
    from mlflow.tracking import MlflowClient

    from shipyard.tracking.backend import mlflow_errors, quiet_mlflow

    try:
        with _mlflow_http(max_retries=0, timeout_s=PROBE_TIMEOUT_S, keep_user_values=False), quiet_mlflow(), \
                mlflow_errors(settings, "answering a probe"):
            MlflowClient(tracking_uri=uri, registry_uri=uri).search_experiments(max_results=1)
    except BackendError as exc:
        if is_outage(exc):
            return False
        raise
    return True


@dataclass(frozen=True, kw_only=True)
class Tracked(Generic[T]):
    value: T
    settings: Settings
    """Where it was logged: the configured store, or the fallback store."""
    pending_sync: bool = False
    reason: str | None = None
    """Why the breaker opened."""


class TrackingBreaker:
    """Closed: a run is logged to the configured store. Open: to the fallback store, to be synced later."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.reason: str | None = None

    @property
    def open(self) -> bool:
        return self.reason is not None

    def _trip(self, reason: str) -> None:
        self.reason = reason
        _log.warning("tracking server %s is out (%s); logging to the local fallback store until it is synced",
                     redact_uri(self.settings.mlflow_tracking_uri), reason)

    def call(self, log: Callable[[Settings], T]) -> Tracked[T]:
        """``log(settings)`` against the server, or against the fallback store once the breaker is open."""
        if not is_server_uri(self.settings.mlflow_tracking_uri):
            return Tracked(value=log(self.settings), settings=self.settings)
        if not self.open and not server_answers(self.settings):
            self._trip(f"it did not answer within {PROBE_TIMEOUT_S}s")
        if not self.open:
            try:
                with few_retries():
                    return Tracked(value=log(self.settings), settings=self.settings)
            except BackendError as exc:
                if not is_outage(exc):
                    raise
                self._trip(f"it failed while the run was logged: {exc.message}")
        fallback = fallback_settings(self.settings)
        return Tracked(value=log(fallback), settings=fallback, pending_sync=True, reason=self.reason)
