"""Progressive rollouts: shadow for a while, then canary steps, judged against service levels.

The rollout lives in the deployment row (``rollout``: version, plan, phase, step, when the
phase began). These functions move it one phase at a time; the controller in each gateway
decides when, from what it measured, and every move is a compare-and-swap on the revision.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from shipyard.config import Settings, load_settings
from shipyard.errors import RefusedError
from shipyard.governance.directory import model_team
from shipyard.governance.identity import current_identity
from shipyard.governance.policy import allowed, authorize
from shipyard.registry.feature_spec import require_features_available
from shipyard.serving.deployments import (Arm, Change, DeploymentState, change, find_deployment, promote_to_stable,
                                          roll_back_trials)
from shipyard.serving.shadow_stage import require_planned_shadow
from shipyard.spec.deployment import DeploymentSpec

CONTROLLER = "rollout-controller"


@dataclass(frozen=True)
class Window:
    """What one gateway measured for an arm since the current phase began."""

    requests: int
    errors: int
    p99_ms: float | None
    labels: dict[str, int]

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"requests": self.requests, "errors": self.errors, "error_rate": round(self.error_rate, 6),
                "p99_ms": None if self.p99_ms is None else round(self.p99_ms, 3)}


def label_shift(left: dict[str, int], right: dict[str, int]) -> float:
    """Total-variation distance between two label distributions (0 same, 1 disjoint)."""
    a, b = sum(left.values()), sum(right.values())
    if not a or not b:
        return 0.0
    return 0.5 * sum(abs(left.get(k, 0) / a - right.get(k, 0) / b) for k in set(left) | set(right))


def breaches(plan: DeploymentSpec, trial: Window, stable: Window | None) -> list[str]:
    """The service levels ``trial`` breaks; empty while too few requests were seen to judge."""
    slo = plan.slo
    if trial.requests < slo.min_requests:
        return []
    found = []
    if trial.error_rate > slo.max_error_rate:
        found.append(f"error rate {trial.error_rate:.2%} > {slo.max_error_rate:.2%}")
    if slo.max_p99_latency_ms is not None and trial.p99_ms is not None and trial.p99_ms > slo.max_p99_latency_ms:
        found.append(f"p99 latency {trial.p99_ms:.1f} ms > {slo.max_p99_latency_ms:g} ms")
    if slo.max_prediction_shift is not None and stable is not None and stable.requests >= slo.min_requests:
        shift = label_shift(trial.labels, stable.labels)
        if shift > slo.max_prediction_shift:
            found.append(f"prediction shift {shift:.3f} > {slo.max_prediction_shift:g}")
    return found


def phase_done(plan: DeploymentSpec, rollout: dict[str, Any], trial: Window, now: float) -> bool:
    elapsed = now - rollout["phase_started_at"]
    if rollout["phase"] == "shadow":
        return elapsed >= plan.shadow.duration_s and trial.requests >= plan.shadow.min_requests
    return elapsed >= plan.canary.min_dwell_s and trial.requests >= plan.canary.min_requests


def _phase(rollout: dict[str, Any], phase: str, step: int = 0, **extra: Any) -> dict[str, Any]:
    history = [*rollout.get("history", []), {"phase": phase, "step": step, "at": time.time(), **extra}]
    return {**rollout, "phase": phase, "step": step, "phase_started_at": time.time(), "history": history[-50:],
            **extra}


def _arms(before: DeploymentState, version: str, phase: str, weight: float) -> list[Arm]:
    kept = [a for a in before.arms if a.role not in ("canary", "shadow") and (a.version != version)]
    if phase == "shadow":
        return [*kept, Arm("shadow", version, 1.0)]
    if phase == "canary":
        return [*kept, Arm("canary", version, weight)]
    return kept


def _first_phase(plan: DeploymentSpec) -> tuple[str, float]:
    return ("shadow", 1.0) if plan.shadow else ("canary", plan.canary.steps[0] / 100)


def start_rollout(model: str, version: str, plan: DeploymentSpec, *, actor: str,
                  settings: Settings | None = None) -> DeploymentState:
    """Begin rolling ``version`` (staging) out; a model with nothing deployed takes it as stable at once.

    A rollout ends in production, so the version must have passed its gates (or had them overridden).
    It waits for an approval first when the version's approval is manual, and when it would take the
    stable arm at once but the caller may not deploy to production (a developer's first version): an
    approver's approval then lets the rollout controller finish it.
    """
    from shipyard.registry.lifecycle import get_state, require_gate_clearance

    settings = settings or load_settings()
    state = get_state(model, version, settings=settings)
    if state.state != "staging":
        raise RefusedError(f"{model} version {version} is {state.state}; a rollout starts from a staging version "
                           "(one that passed its gates)")
    rollout = {"version": version, "plan": plan.model_dump(mode="json"), "history": []}
    current = find_deployment(model, settings=settings)
    team = model_team(model, settings=settings)
    identity = current_identity()
    first = current is None or current.stable_version is None
    waiting_for = None
    if state.approval == "manual" and not state.approved_by:
        waiting_for = "a manual approval (approval: manual)"
    elif first and not allowed(identity, "deploy.production", team=team):
        waiting_for = (f"an approver of team {team}: {identity.name} may not deploy.production, and this first "
                       "deployment would put the version in production")
    straight_to_stable = first and waiting_for is None
    authorize(identity, "deploy.production" if straight_to_stable else "deploy.canary", team=team)
    require_gate_clearance(model, version, settings=settings)
    require_features_available(model, version, what="be rolled out", settings=settings)
    if not straight_to_stable:
        require_planned_shadow(model, version, plan, settings=settings)
    if straight_to_stable:
        return change(model, lambda before: Change(
            arms=[Arm("stable", version)], rollout=_phase(rollout, "completed", note="first deployment"),
            action="deployed", version=version, details={"strategy": "rollout", "first": True}),
            actor=actor, lifecycle=promote_to_stable(model, version, actor=actor, reason="first deployment"),
            settings=settings)
    if waiting_for is not None:
        phase, weight, extra = "awaiting_approval", 0.0, {"waiting_for": waiting_for}
    else:
        (phase, weight), extra = _first_phase(plan), {}
    return change(model, lambda before: Change(
        arms=_arms(before, version, phase, weight), routing_key=before.routing_key,
        rollout=_phase(rollout, phase, **extra), action="rollout_started", version=version,
        details={"phase": phase, "weight": weight, **extra}),
        actor=actor, settings=settings)


def plan_of(state: DeploymentState) -> DeploymentSpec:
    return DeploymentSpec.model_validate(state.rollout["plan"])


def advance(model: str, state: DeploymentState, measured: dict[str, Any], *,
            settings: Settings | None = None) -> DeploymentState:
    """Move an active rollout one phase on: approval → first phase → canary steps → stable."""
    rollout, plan = state.rollout, plan_of(state)
    version, phase, step = str(rollout["version"]), rollout["phase"], rollout.get("step", 0)
    if phase == "canary" and step + 1 >= len(plan.canary.steps) or (
            phase == "awaiting_approval" and state.stable_version is None):
        return change(model, lambda before: Change(
            arms=[Arm("stable", version), *(a for a in before.arms if a.role not in ("stable", "canary", "shadow")
                                            and a.version != version)],
            routing_key=before.routing_key, rollout=_phase(rollout, "completed"), action="rollout_completed",
            version=version, details={"measured": measured}),
            actor=CONTROLLER, expected_revision=state.revision,
            lifecycle=promote_to_stable(model, version, actor=CONTROLLER, reason="rollout completed"),
            settings=settings)
    if phase == "awaiting_approval":
        phase, step = _first_phase(plan)[0], 0
    elif phase == "shadow":
        phase, step = "canary", 0
    else:
        step += 1
    weight = plan.canary.steps[step] / 100 if phase == "canary" else 1.0
    return change(model, lambda before: Change(
        arms=_arms(before, version, phase, weight), routing_key=before.routing_key,
        rollout=_phase(rollout, phase, step), action="rollout_advanced", version=version,
        details={"phase": phase, "weight": weight, "measured": measured}),
        actor=CONTROLLER, expected_revision=state.revision, settings=settings)


def abort(model: str, state: DeploymentState, reasons: list[str], measured: dict[str, Any], *,
          settings: Settings | None = None) -> DeploymentState:
    """Take the rolling version out of traffic and mark it ``rolled_back``, recording what was measured."""
    version = str(state.rollout["version"])
    reason = "service level breached: " + "; ".join(reasons)
    return change(model, lambda before: Change(
        arms=[a for a in before.arms if a.version != version or a.role == "stable"], routing_key=before.routing_key,
        rollout=_phase(state.rollout, "rolled_back", state.rollout.get("step", 0), reason=reason),
        action="rollout_rolled_back", version=version, reason=reason, details={"measured": measured}),
        actor=CONTROLLER, expected_revision=state.revision,
        lifecycle=roll_back_trials(model, {version}, actor=CONTROLLER, reason=reason, details={"measured": measured}),
        settings=settings)
