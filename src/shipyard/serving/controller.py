"""The rollout controller of one gateway: advance a healthy rollout, roll back a breaching one.

It ticks several times a second over the rollouts this gateway routes, judging the
rolling arm on what this gateway measured since the phase began. Decisions are
compare-and-swaps on the deployment's revision, so when several gateways share a
store the first to decide wins and the others follow the stored result.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from shipyard.config import Settings
from shipyard.errors import RefusedError
from shipyard.serving.follower import DeploymentFollower, replica_name
from shipyard.serving.periodic import Periodic
from shipyard.serving.rollout import abort, advance, breaches, phase_done, plan_of

if TYPE_CHECKING:
    from shipyard.serving.gateway import Gateway

log = logging.getLogger(__name__)


class RolloutController:
    def __init__(self, gateway: Gateway, follower: DeploymentFollower, *, settings: Settings,
                 tick_s: float = 0.25):
        self.gateway = gateway
        self.follower = follower
        self.settings = settings
        self.tick_s = tick_s
        self._loop = Periodic("rollout-controller", tick_s, self.tick, "rollout controller tick failed; trying again",
                              gateway.metrics)
        self.start, self.stop = self._loop.start, self._loop.stop

    def tick(self) -> None:
        for model, state in list(self.gateway.rollouts.items()):
            try:
                decided = self._decide(model, state)
            except RefusedError as exc:  # another gateway or an operator changed it first
                log.info("rollout of %s not moved: %s", model, exc.message)
                continue
            if decided is not None:
                self.follower.apply(decided)

    def _decide(self, model: str, state):
        from shipyard.registry.lifecycle import get_state

        rollout, plan = state.rollout, plan_of(state)
        version, phase = str(rollout["version"]), rollout["phase"]
        if phase == "awaiting_approval":
            if get_state(model, version, settings=self.settings).approved_by:
                return advance(model, state, {"approved": True}, settings=self.settings)
            return None
        failed = self.follower.failed.get((model, version))
        if failed is not None:
            self.gateway.metrics.rollbacks.labels(model).inc()
            return abort(model, state, [f"version {version} failed to load: {failed[1][:300]}"],
                         {"replica": replica_name()}, settings=self.settings)
        role = "shadow" if phase == "shadow" else "canary"
        since = rollout["phase_started_at"]
        trial = self.gateway.stats.window(model, version, role, since)
        stable = (self.gateway.stats.window(model, state.stable_version, "stable", since)
                  if state.stable_version else None)
        measured = {"replica": replica_name(), "phase": phase, "step": rollout.get("step", 0),
                    "trial": trial.to_dict(), "stable": stable.to_dict() if stable else None}
        found = breaches(plan, trial, stable)
        if found:
            self.gateway.metrics.rollbacks.labels(model).inc()
            log.warning("rolling back %s version %s: %s", model, version, "; ".join(found))
            return abort(model, state, found, measured, settings=self.settings)
        if phase_done(plan, rollout, trial, time.time()):
            return advance(model, state, measured, settings=self.settings)
        return None
