"""The watch on stable versions after their rollout: fleet-wide service levels, one gateway judging.

A rollout's controller judges the rolling version; once the rollout is over, this watch keeps
judging the stable version against the same plan's service levels (error rate, p99 latency,
prediction shift against the version's own first day of traffic, live input PSI against its
reference profile). Every gateway publishes what it measured for the stable version over the
plan's ``slo.window`` to the store; the gateway holding the model's watch lease adds the fresh
windows up and judges the sum, so a breach no single gateway sees enough requests to judge is
still caught, and only one gateway acts. On a breach it rolls production back to the previous
version (a compare-and-swap on the deployment's revision, audited as ``slo_rolled_back``); when
there is none, or the rollback is refused, it pages (audited as ``slo_paged``), once per breach,
and says so when the breach is over (audited as ``slo_resolved``).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shipyard.config import Settings
from shipyard.errors import ShipyardError
from shipyard.governance.audit import append_event
from shipyard.governance.directory import model_team
from shipyard.monitoring.alerts import UNOWNED, deliver, slo_page, slo_resolved
from shipyard.monitoring.live import feature_psi, reference_counts
from shipyard.monitoring.references import load_profile
from shipyard.registry.lifecycle import apply_rollback
from shipyard.serving.deployments import Arm, Change, DeploymentState, change, find_deployment
from shipyard.serving.fleet_store import (WatchMemory, claim_watch, forget_gateway, fresh_windows, publish,
                                          release_watch, remember)
from shipyard.serving.fleet_window import merged
from shipyard.serving.follower import replica_name
from shipyard.serving.periodic import Periodic
from shipyard.serving.rollout import breaches
from shipyard.serving.stable_baseline import extended, judged_against
from shipyard.spec.deployment import DeploymentSpec
from shipyard.store.leases import new_owner
from shipyard.store.models import utcnow

if TYPE_CHECKING:
    from shipyard.serving.gateway import Gateway

log = logging.getLogger(__name__)
WATCHER = "slo-watch"
PAGE_RETRY_S = 60.0
STATES = ("unwatched", "elsewhere", "not_enough_data", "ok", "breached")
"""``elsewhere``: another gateway holds the watch and judges the fleet."""


@dataclass
class WatchStatus:
    """What this gateway knows of one model's watch, for ``/metrics``."""

    state: str = "unwatched"
    leader: bool = False
    version: str | None = None
    fleet: dict[str, Any] = field(default_factory=dict)
    gateways: int = 0
    psi: dict[str, float] = field(default_factory=dict)
    """Feature -> the fleet's live PSI, for a plan with ``slo.max_psi``."""


def watched_plan(state: DeploymentState | None) -> DeploymentSpec | None:
    """The service levels a stable version is held to: its deployment's last rollout plan, once no rollout runs."""
    if state is None or state.stable_version is None or state.rollout_active or not state.rollout:
        return None
    plan = state.rollout.get("plan")
    return DeploymentSpec.model_validate(plan) if plan else None


def roll_back_stable(model: str, state: DeploymentState, reasons: list[str], measured: dict[str, Any], *,
                     settings: Settings) -> DeploymentState:
    """Return production to its previous version, unless the deployment changed since ``state`` was read."""
    reason = "stable version breached its service levels: " + "; ".join(reasons)
    restored: list[str] = []

    def restore(session, before: DeploymentState):
        touched = apply_rollback(session, model, actor=WATCHER, reason=reason, by_deployment=True, settings=settings)
        restored.append(touched[-1].version)
        return touched

    return change(model, lambda before: Change(
        arms=[Arm("stable", restored[0]), *(a for a in before.arms if a.role != "stable" and a.version != restored[0])],
        routing_key=before.routing_key, rollout=before.rollout, action="slo_rolled_back", version=restored[0],
        reason=reason, details={"from_version": before.stable_version, "measured": measured}),
        actor=WATCHER, expected_revision=state.revision, lifecycle=restore, settings=settings)


class StableVersionWatch:
    def __init__(self, gateway: Gateway, *, settings: Settings, interval_s: float | None = None,
                 lease_s: float | None = None):
        self.gateway = gateway
        self.settings = settings
        self.interval_s = interval_s or settings.slo_watch_interval_s
        self.lease_s = lease_s or settings.slo_watch_lease_s
        self.owner = new_owner()
        self.status: dict[str, WatchStatus] = {}
        self._page_failed_at: dict[tuple[str, str], float] = {}
        self._resolve_failed_at: dict[str, float] = {}
        self._references: dict[tuple[str, str], dict[str, Any] | None] = {}
        self._no_inputs_told: set[tuple[str, str]] = set()
        self._loop = Periodic("stable-watch", self.interval_s, self.tick, "stable watch tick failed; trying again",
                              gateway.metrics)
        self.start = self._loop.start

    def stop(self) -> None:
        self._loop.stop()
        try:
            for model, status in self.status.items():
                if status.leader:
                    release_watch(model, self.owner, settings=self.settings)
            forget_gateway(self.owner, settings=self.settings)
        except Exception:  # the store being down must not stop the gateway from stopping
            log.exception("could not give up the stable watch in the store")

    def tick(self) -> None:
        followed = self.gateway.follower.models if self.gateway.follower is not None else None
        status = dict(self.status)
        for model in sorted(m for m in self.gateway.routes if followed is None or m in followed):
            status[model] = self._watch(model, status.get(model) or WatchStatus())
            self.status = dict(status)  # replaced whole: /metrics reads it from another thread

    def _watch(self, model: str, before: WatchStatus) -> WatchStatus:
        state = find_deployment(model, settings=self.settings)
        plan = watched_plan(state)
        if plan is None:
            if before.leader:
                release_watch(model, self.owner, settings=self.settings)
            return WatchStatus()
        version = state.stable_version
        since = time.time() - plan.slo.window
        window = self.gateway.stats.fleet_window(model, version, "stable", since)
        live = self.gateway.live_drift
        if plan.slo.max_psi is not None and live is not None:
            window = dataclasses.replace(window, inputs=live.binned_since(model, version, since))
        publish(model, self.owner, version, plan.slo.window, window, settings=self.settings)
        memory = claim_watch(model, self.owner, lease_s=self.lease_s, settings=self.settings)
        if memory is None:
            return WatchStatus(state="elsewhere", version=version)
        if not before.leader:
            log.info("this gateway now watches the stable version of %s for the fleet", model)
        return self._judge(model, state, plan, memory)

    def _judge(self, model: str, state: DeploymentState, plan: DeploymentSpec, memory: WatchMemory) -> WatchStatus:
        version = state.stable_version
        if memory.version != version:
            remember(model, self.owner, version=version, baseline=None, paged_at=None, settings=self.settings)
            memory = WatchMemory(version=version, baseline=None, paged_at=None)
        windows = fresh_windows(model, version, fresh_s=3 * self.interval_s + 1, settings=self.settings)
        fleet = merged(list(windows.values()))
        judged = fleet.as_window()
        slo = plan.slo
        baseline = memory.baseline
        if slo.max_prediction_shift is not None:
            baseline = extended(memory.baseline, judged, now=time.time(), window_s=slo.window,
                                day_s=self.settings.stable_baseline_s, min_requests=slo.min_requests)
            if baseline is not memory.baseline:
                remember(model, self.owner, baseline=baseline, settings=self.settings)
        found = breaches(plan, judged, judged_against(baseline))
        measured = {"replica": replica_name(), "window_s": slo.window, "fleet": judged.to_dict(),
                    "gateways": {name: w.as_window().to_dict() for name, w in sorted(windows.items())}}
        if slo.max_psi is not None:
            stability = self._input_stability(model, version, fleet.inputs, slo.min_requests)
            measured["psi"] = stability
            found += [f"input drift: PSI of {name} {figures['psi']:.3f} > {slo.max_psi:g}"
                      for name, figures in stability.items() if figures["psi"] > slo.max_psi]
        status = WatchStatus(state="breached" if found else "ok" if judged.requests >= slo.min_requests
                             else "not_enough_data", leader=True, version=version, fleet=judged.to_dict(),
                             gateways=len(windows),
                             psi={name: figures["psi"] for name, figures in measured.get("psi", {}).items()})
        if not found:
            if memory.paged_at is not None and status.state == "ok":  # the paged breach is over
                self._resolve(model, version, memory, measured)
            return status
        self._act(model, state, found, measured, memory)
        return status

    def _input_stability(self, model: str, version: str, inputs: dict[str, list[int]],
                         min_rows: int) -> dict[str, dict[str, Any]]:
        """Feature -> its PSI and rows, for the features with at least ``min_rows`` live values in the window."""
        key = (model, version)
        if key not in self._references:
            try:
                self._references[key] = load_profile(model, version, settings=self.settings)[0]["features"]
            except ShipyardError as exc:
                log.warning("live PSI of %s version %s cannot be judged: %s", model, version, exc.message)
                self._references[key] = None
        references = self._references[key] or {}
        if references and not inputs and key not in self._no_inputs_told:
            self._no_inputs_told.add(key)
            log.warning("live PSI of %s version %s cannot be judged: no gateway publishes its input counts (they "
                        "come from the prediction log: serve without --no-log-predictions)", model, version)
        found = {}
        for name, counts in sorted(inputs.items()):
            reference = references.get(name)
            if reference is None or sum(counts) < min_rows or len(counts) != len(reference_counts(reference)):
                continue
            found[name] = {"psi": round(feature_psi(reference, counts), 6), "rows": int(sum(counts))}
        return found

    def _resolve(self, model: str, version: str, memory: WatchMemory, measured: dict[str, Any]) -> None:
        """Tell the pager the breach it was told of is over (retried a minute later while it cannot be told)."""
        failed_at = self._resolve_failed_at.get(model)
        if failed_at is not None and time.monotonic() - failed_at < PAGE_RETRY_S:
            return
        url = self.settings.page_url
        delivered, attempts, error = self._tell_pager(lambda team: slo_resolved(
            model, version, team=team, page_format=self.settings.page_format, paged_at=memory.paged_at,
            measured=measured), model)
        append_event(actor=WATCHER, action="slo_resolved", model=model, version=version,
                     reason="stable version is back within its service levels",
                     details={"paged_at": memory.paged_at.isoformat(), "target": url, "delivered": delivered,
                              "attempts": attempts, "error": error, "measured": measured}, settings=self.settings)
        self.gateway.metrics.slo_pages.labels(model, "resolved" if delivered else "resolve_failed").inc()
        if delivered or url is None:
            self._resolve_failed_at.pop(model, None)
            remember(model, self.owner, paged_at=None, settings=self.settings)
            log.warning("%s version %s is back within its service levels; the pager was told", model, version)
        else:
            self._resolve_failed_at[model] = time.monotonic()
            log.error("%s version %s is back within its service levels, but telling the pager failed: %s",
                      model, version, error)

    def _tell_pager(self, body_for_team, model: str) -> tuple[bool, int, str | None]:
        """(delivered, attempts, error) of sending the body built for the model's team to the configured pager."""
        if self.settings.page_url is None:
            return False, 0, "no pager is configured (set SHIPYARD_PAGE_URL)"
        body = body_for_team(model_team(model, settings=self.settings) or UNOWNED)
        return deliver(self.settings.page_url, body, attempts=3, backoff_s=0.5, timeout_s=5.0)

    def _act(self, model: str, state: DeploymentState, found: list[str], measured: dict[str, Any],
             memory: WatchMemory) -> None:
        version = state.stable_version
        try:
            after = roll_back_stable(model, state, found, measured, settings=self.settings)
        except ShipyardError as exc:
            current = find_deployment(model, settings=self.settings)
            if current is None or current.revision != state.revision:
                return  # an operator or a rollout changed it first; the next tick judges what serves now
            if memory.paged_at is None:
                self._page(model, version, found, measured, why=exc.message)
            return
        self.gateway.metrics.slo_rollbacks.labels(model).inc()
        log.warning("rolled %s back from version %s to %s: %s", model, version, after.stable_version,
                    "; ".join(found))
        if self.gateway.follower is not None:
            self.gateway.follower.apply(after)

    def _page(self, model: str, version: str, found: list[str], measured: dict[str, Any], *, why: str) -> None:
        failed_at = self._page_failed_at.get((model, version))
        if failed_at is not None and time.monotonic() - failed_at < PAGE_RETRY_S:
            return
        url = self.settings.page_url
        delivered, attempts, error = self._tell_pager(lambda team: slo_page(
            model, version, found, team=team, page_format=self.settings.page_format, why_not_rolled_back=why), model)
        append_event(actor=WATCHER, action="slo_paged", model=model, version=version,
                     reason="stable version breached its service levels: " + "; ".join(found),
                     details={"not_rolled_back": why, "target": url, "delivered": delivered, "attempts": attempts,
                              "error": error, "measured": measured}, settings=self.settings)
        self.gateway.metrics.slo_pages.labels(model, "delivered" if delivered else "failed").inc()
        if delivered:
            self._page_failed_at.pop((model, version), None)
            remember(model, self.owner, paged_at=utcnow(), settings=self.settings)
            log.error("paged for %s version %s (%s): not rolled back: %s", model, version, "; ".join(found), why)
        else:
            self._page_failed_at[(model, version)] = time.monotonic()
            log.error("%s version %s breaches its service levels (%s), was not rolled back (%s), and the page "
                      "failed: %s", model, version, "; ".join(found), why, error)
