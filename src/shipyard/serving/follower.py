"""Keeping a gateway's routes in step with the deployments in the metadata store.

A background thread polls the deployments' revisions; for a changed deployment it loads
and warms any new version off the request path, then swaps the model's route in one
assignment. A version that fails to load or warm never receives traffic: its arm is left
out (its share goes to the stable arm), the failure is counted and audited once, and it is
recorded in the store (refreshed at every retry) for ``shipyard traffic show``.

Versions are loaded from MLflow only when a deployment changes: a gateway whose MLflow server goes
away keeps serving what it has loaded, and a version it cannot load meanwhile is logged once and
tried again every :data:`RETRY_FAILED_LOAD_S`.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from typing import TYPE_CHECKING

from shipyard.config import Settings
from shipyard.serving.deployments import DeploymentState, find_deployment, revisions
from shipyard.serving.load_failures import clear_load_failures, record_load_failure
from shipyard.serving.loaded import LoadedVersion, load_for_serving
from shipyard.serving.periodic import Periodic
from shipyard.serving.routing import Route
from shipyard.tracking.outage import few_retries

if TYPE_CHECKING:
    from shipyard.serving.gateway import Gateway

log = logging.getLogger(__name__)
RETRY_FAILED_LOAD_S = 60.0


def replica_name() -> str:
    return f"gateway@{socket.gethostname()}:{os.getpid()}"


class DeploymentFollower:
    def __init__(self, gateway: Gateway, *, settings: Settings, models: list[str] | None = None,
                 poll_interval_s: float = 0.25):
        self.gateway = gateway
        self.settings = settings
        self.models = models
        self.poll_interval_s = poll_interval_s
        self.seen: dict[str, int] = {}
        self.failed: dict[tuple[str, str], tuple[float, str]] = {}
        self._lock = threading.Lock()
        self._loop = Periodic("deployment-follower", poll_interval_s, self.sync_once,
                              "could not read deployments; serving the last known routes", gateway.metrics)
        self.start = self._loop.start

    def stop(self) -> None:
        """Stop following; this gateway's load failures are no longer current."""
        self._loop.stop()
        if self.failed:
            self._store_quietly(clear_load_failures, gateway=replica_name(), settings=self.settings)

    def sync_once(self) -> list[str]:
        """Bring every changed deployment's route up to date; the models whose route changed."""
        changed = []
        for model, revision in sorted(revisions(self.models, settings=self.settings).items()):
            if self.seen.get(model) != revision or self._retry_due(model):
                state = find_deployment(model, settings=self.settings)
                if state is not None and self.apply(state):
                    changed.append(model)
        return changed

    def _retry_due(self, model: str) -> bool:
        now = time.monotonic()
        return any(m == model and now - failed_at > RETRY_FAILED_LOAD_S for (m, _), (failed_at, _) in
                   self.failed.items())

    def apply(self, state: DeploymentState) -> bool:
        """Route ``state`` (loading what it needs); False when it is older than what is routed."""
        with self._lock:
            if state.revision < self.seen.get(state.model, 0):
                return False
            loaded = {arm.role: self._load(state.model, arm.version) for arm in state.arms}
            previous = self.gateway.routes.get(state.model)
            stable = loaded.get("stable") or (previous.stable if previous else None)
            self.seen[state.model] = state.revision
            if stable is None:
                return False
            weights = {a.role: a.weight for a in state.arms}
            route = Route(model=state.model, stable=stable, revision=state.revision,
                          canary=loaded.get("canary"), canary_weight=weights.get("canary", 0.0),
                          ab=loaded.get("ab"), ab_weight=weights.get("ab", 0.0),
                          shadow=loaded.get("shadow"), shadow_weight=weights.get("shadow", 0.0),
                          routing_key=state.routing_key,
                          phase=state.rollout.get("phase") if state.rollout else None)
            self.gateway.set_route(route, rollout=state if state.rollout_active else None)
            return True

    def _load(self, model: str, version: str) -> LoadedVersion | None:
        cached = self.gateway.loaded.get((model, version))
        if cached is not None:
            return cached
        failure = self.failed.get((model, version))
        if failure is not None and time.monotonic() - failure[0] < RETRY_FAILED_LOAD_S:
            return None
        try:
            with few_retries():  # MLflow out: fail in seconds; the version is tried again later
                loaded = load_for_serving(model, version, settings=self.settings,
                                          compile=self.gateway.compile_models)
        except Exception as exc:  # any failure keeps the version out of traffic
            self._failed(model, version, exc, first=failure is None)
            return None
        if self.failed.pop((model, version), None) is not None:
            log.warning("%s version %s loaded after failing before; it gets its traffic again", model, version)
            self._store_quietly(clear_load_failures, gateway=replica_name(), model=model, version=version,
                                settings=self.settings)
        self.gateway.loaded[(model, version)] = loaded
        return loaded

    def _failed(self, model: str, version: str, exc: Exception, *, first: bool) -> None:
        from shipyard.governance.audit import append_event

        message = getattr(exc, "message", None) or str(exc)
        previous = self.failed.get((model, version))
        self.failed[(model, version)] = (time.monotonic(), message)
        self.gateway.metrics.load_failures.labels(model, version).inc()
        if previous is None or previous[1] != message:  # logged when it starts failing, or fails differently
            log.error("%s version %s failed to load and gets no traffic: %s", model, version, message)
        self._store_quietly(record_load_failure, model, version, gateway=replica_name(), reason=message[:2000],
                            settings=self.settings)
        if first:
            self._store_quietly(append_event, actor=replica_name(), action="load_failed", model=model,
                                version=version, reason=message[:2000], settings=self.settings)

    @staticmethod
    def _store_quietly(write, *args, **kwargs) -> None:
        try:
            write(*args, **kwargs)
        except Exception:  # the store being down must not stop the gateway
            log.exception("could not record a load failure in the store (%s)", write.__name__)
