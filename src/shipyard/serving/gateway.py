"""One gateway process: its routes, loaded versions, batchers, measurements and background workers."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from shipyard.config import Settings
from shipyard.serving.arm_stats import ArmStats
from shipyard.serving.auth import TokenGuard
from shipyard.serving.batching import Batcher
from shipyard.serving.deployments import DeploymentState
from shipyard.serving.errors import RequestError
from shipyard.serving.loaded import LoadedVersion
from shipyard.serving.metrics import GatewayMetrics
from shipyard.serving.routing import Route

if TYPE_CHECKING:
    from shipyard.serving.prediction_log import PredictionLogWriter


class Gateway:
    """Routes are replaced whole (one assignment) so a request sees either the old or the new split."""

    def __init__(self, *, prediction_log: PredictionLogWriter | None = None, max_batch_rows: int = 64,
                 max_batch_wait_us: int = 0):
        self.routes: dict[str, Route] = {}
        self.rollouts: dict[str, DeploymentState] = {}
        self.loaded: dict[tuple[str, str], LoadedVersion] = {}
        self.batchers: dict[tuple[str, str], Batcher] = {}
        self.stats = ArmStats()
        self.metrics = GatewayMetrics()
        self.prediction_log = prediction_log
        self.live_drift = None  # monitoring.live.LiveDrift, fed by the prediction log's writer when there is one
        self.max_batch_rows, self.max_batch_wait_us = max_batch_rows, max_batch_wait_us
        self.follower = None
        self.controller = None
        self.watch = None
        self.guard: TokenGuard | None = None
        self.compile_models = True
        self.replayed = None  # what the start-up replay of the prediction spool wrote (spool.Replayed)
        self.serving_clock = None  # serving_time.ServingClock: the time this gateway served each model

    @classmethod
    def pinned(cls, versions: list[LoadedVersion], **options) -> Gateway:
        """A gateway serving fixed versions, one stable arm per model, not following the store."""
        gateway = cls(**options)
        for loaded in versions:
            gateway.loaded[(loaded.model, loaded.version)] = loaded
            gateway.set_route(Route(model=loaded.model, stable=loaded))
        return gateway

    def follow(self, *, settings: Settings, models: list[str] | None = None, poll_interval_s: float = 0.25,
               tick_s: float = 0.25) -> None:
        """Route what the store's deployments say (loading them now), and keep following them: rollouts are
        judged by the controller, and stable versions by the fleet-wide watch."""
        from shipyard.serving.controller import RolloutController
        from shipyard.serving.follower import DeploymentFollower
        from shipyard.serving.stable_watch import StableVersionWatch

        self.follower = DeploymentFollower(self, settings=settings, models=models, poll_interval_s=poll_interval_s)
        self.follower.sync_once()
        self.controller = RolloutController(self, self.follower, settings=settings, tick_s=tick_s)
        self.watch = StableVersionWatch(self, settings=settings)
        self.metrics.watch_stable_versions(self.watch)

    def require_token(self, scopes: Collection[str], *, settings: Settings, refresh_interval_s: float = 0.25) -> None:
        """Refuse inference and/or ``/metrics`` (``scopes``) to requests without a token granting them."""
        self.guard = TokenGuard(scopes, settings=settings, refresh_interval_s=refresh_interval_s,
                                metrics=self.metrics) if scopes else None

    def start(self) -> None:
        if self.prediction_log is not None:
            self.prediction_log.start()
        for worker in (self.guard, self.follower, self.controller, self.watch, self.serving_clock):
            if worker is not None:
                worker.start()

    def stop(self) -> None:
        for worker in (self.serving_clock, self.watch, self.controller, self.follower, self.guard):
            if worker is not None:
                worker.stop()
        if self.prediction_log is not None:
            self.prediction_log.close()
        for batcher in self.batchers.values():
            batcher.close()

    def set_route(self, route: Route, *, rollout: DeploymentState | None = None) -> None:
        previous = self.routes.get(route.model)
        self.routes = {**self.routes, route.model: route}
        rollouts = {m: s for m, s in self.rollouts.items() if m != route.model}
        if rollout is not None:
            rollouts[route.model] = rollout
        self.rollouts = rollouts
        self.metrics.show_route(route, previous)

    def route(self, model: str) -> Route:
        route = self.routes.get(model)
        if route is None:
            served = ", ".join(sorted(self.routes)) or "nothing yet"
            raise RequestError(404, f"unknown model '{model}'; this gateway serves: {served}",
                               [{"field": "model", "message": f"'{model}' is not served here"}])
        return route

    def batcher(self, loaded: LoadedVersion) -> Batcher:
        key = (loaded.model, loaded.version)
        batcher = self.batchers.get(key)
        if batcher is None:
            batcher = self.batchers[key] = Batcher(
                loaded.predict_prepared, max_rows=self.max_batch_rows, max_wait_us=self.max_batch_wait_us,
                on_batch=self.metrics.batch_rows.labels(*key).observe, inline_rows=loaded.inline_rows)
        return batcher
