"""What operators do to a deployment: deploy a version, set the traffic split, roll back."""

from __future__ import annotations

from typing import Any

from shipyard.config import Settings, load_settings
from shipyard.errors import RefusedError, UsageError
from shipyard.governance.directory import model_team
from shipyard.governance.identity import current_identity
from shipyard.governance.policy import authorize
from shipyard.registry.feature_spec import require_features_available
from shipyard.registry.lifecycle import apply_rollback
from shipyard.serving.deployments import (Arm, Change, DeploymentState, change, find_deployment, get_deployment,
                                          promote_to_stable, roll_back_trials)
from shipyard.serving.shadow_stage import require_shadow_passed
from shipyard.spec.deployment import ROUTING_KEY, DeploymentSpec

STRATEGIES = ("blue-green", "canary", "ab", "shadow", "rollout")
DEFAULT_WEIGHTS = {"canary": 0.1, "ab": 0.5, "shadow": 1.0}
LIVE_ROLES = ("stable", "canary", "ab")
WHAT = {"blue-green": "become the stable version", "stable": "become the stable version",
        "canary": "take a canary share", "ab": "take an A/B share"}


def _authorize(operation: str, model: str, settings: Settings) -> None:
    authorize(current_identity(), operation, team=model_team(model, settings=settings))


def _without(arms: tuple[Arm, ...], *, roles: tuple[str, ...] = (), version: str | None = None) -> list[Arm]:
    return [a for a in arms if a.role not in roles and a.version != version]


def _superseded(before: DeploymentState, actor: str) -> dict[str, Any] | None:
    if not before.rollout_active:
        return before.rollout
    return {**before.rollout, "phase": "cancelled", "reason": f"traffic changed by hand ({actor})"}


def _check_routing_key(routing_key: str | None) -> None:
    if routing_key is not None and not ROUTING_KEY.match(routing_key):
        raise UsageError(f"'{routing_key}' is not a routing key; write 'header:x-user-id' or 'field:customer_id'")


def _require_shadow(model: str, version: str, current: DeploymentState | None, what: str,
                    settings: Settings) -> None:
    """A version newly taking live traffic beside a stable one must have passed its shadow stage."""
    if current is not None and any(a.version == version for a in current.arms if a.role in LIVE_ROLES):
        return
    require_shadow_passed(model, version, stable_version=current.stable_version if current else None, what=what,
                          settings=settings)


def deploy(model: str, version: str | int, *, strategy: str = "blue-green", weight: float | None = None,
           routing_key: str | None = None, plan: DeploymentSpec | None = None, actor: str,
           reason: str | None = None, settings: Settings | None = None) -> DeploymentState:
    """Put ``version`` into ``model``'s traffic with one of :data:`STRATEGIES`."""
    settings = settings or load_settings()
    version = str(version)
    if strategy not in STRATEGIES:
        raise UsageError(f"'{strategy}' is not a deployment strategy; use one of {', '.join(STRATEGIES)}")
    _check_routing_key(routing_key)
    if strategy != "rollout":
        _authorize("deploy.production" if strategy == "blue-green" else "deploy.canary", model, settings)
    if strategy == "rollout":
        from shipyard.serving.rollout import start_rollout

        return start_rollout(model, version, plan or DeploymentSpec(), actor=actor, settings=settings)
    require_features_available(model, version, what=f"be deployed ({strategy})", settings=settings)
    if strategy != "shadow":
        _require_shadow(model, version, find_deployment(model, settings=settings), WHAT[strategy], settings)
    if strategy == "blue-green":
        return change(model, lambda before: Change(
            arms=[Arm("stable", version), *_without(before.arms, roles=("stable",), version=version)],
            routing_key=before.routing_key, rollout=_superseded(before, actor), action="deployed", version=version,
            reason=reason, details={"strategy": strategy}), actor=actor,
            lifecycle=promote_to_stable(model, version, actor=actor, reason=reason), settings=settings)
    current = find_deployment(model, settings=settings)
    if current is None:
        from shipyard.registry.lifecycle import get_state

        get_state(model, version, settings=settings)  # an unknown model or version is not found rather than refused
        raise RefusedError(f"model '{model}' has no stable version deployed for a {strategy} arm to sit beside",
                           hint=f"deploy one first: shipyard deploy {model} VERSION --strategy blue-green")
    share = DEFAULT_WEIGHTS[strategy] if weight is None else weight
    key = routing_key or current.routing_key
    return change(model, lambda before: Change(
        arms=[*_without(before.arms, roles=(strategy,), version=version), Arm(strategy, version, share)],
        routing_key=key, rollout=_superseded(before, actor), action="deployed", version=version, reason=reason,
        details={"strategy": strategy, "weight": share}), actor=actor, settings=settings)


def set_traffic(model: str, arms: dict[str, tuple[str, float | None] | None], *, routing_key: str | None = None,
                actor: str, reason: str | None = None, settings: Settings | None = None) -> DeploymentState:
    """Set arms by role: ``{"canary": ("4", 0.25), "shadow": None}`` (None removes the arm)."""
    settings = settings or load_settings()
    _check_routing_key(routing_key)
    if not arms and routing_key is None:
        raise UsageError("nothing to change; name at least one arm or a routing key")
    _authorize("deploy.production" if "stable" in arms else "traffic.set", model, settings)
    promotion = None
    if "stable" in arms:
        if arms["stable"] is None:
            raise RefusedError("the stable arm cannot be removed", hint="deploy another version as stable instead")
        promotion = promote_to_stable(model, str(arms["stable"][0]), actor=actor, reason=reason)
    current = get_deployment(model, settings=settings)
    for role, wanted in arms.items():
        if wanted is not None and not any(a.version == str(wanted[0]) for a in current.arms):
            require_features_available(model, str(wanted[0]), what=f"take the {role} arm", settings=settings)
        if role in LIVE_ROLES and wanted is not None:
            _require_shadow(model, str(wanted[0]), current, WHAT[role], settings)

    def mutate(before: DeploymentState) -> Change:
        result = {a.role: a for a in before.arms}
        for role, wanted in arms.items():
            if wanted is None:
                result.pop(role, None)
                continue
            version, weight = str(wanted[0]), wanted[1]
            if weight is None:
                weight = result[role].weight if role in result else DEFAULT_WEIGHTS.get(role, 0.0)
            result[role] = Arm(role, version, 0.0 if role == "stable" else weight)
        return Change(arms=sorted(result.values(), key=lambda a: ("stable", "canary", "ab", "shadow").index(a.role)),
                      routing_key=routing_key or before.routing_key, rollout=_superseded(before, actor),
                      reason=reason, details={"requested": {r: list(w) if w else None for r, w in arms.items()}})

    return change(model, mutate, actor=actor, lifecycle=promotion, settings=settings)


def rollback(model: str, *, actor: str, reason: str, force: bool = False,
             settings: Settings | None = None) -> DeploymentState:
    """Take the newest change out of traffic.

    With a canary, A/B arm or rollout in flight, those arms go and their versions become
    ``rolled_back``; otherwise production returns to its previous version, which takes the stable arm.
    Either way the lifecycle and the traffic change in one transaction. Returning to a previous
    version checks its inputs against today's serving contract first (``force`` overrides).
    """
    settings = settings or load_settings()
    if not reason or not reason.strip():
        raise RefusedError("a rollback must give a reason", hint="pass --reason TEXT")
    _authorize("rollback", model, settings)
    current = get_deployment(model, settings=settings)
    trial = [a for a in current.arms if a.role in ("canary", "ab")]
    if trial or current.rollout_active:
        rollout = current.rollout
        if current.rollout_active:
            rollout = {**current.rollout, "phase": "rolled_back", "reason": reason}
            trial_versions = {a.version for a in trial} | {str(current.rollout["version"])}
        else:
            trial_versions = {a.version for a in trial}
        return change(model, lambda before: Change(
            arms=[a for a in before.arms if a.version not in trial_versions or a.role == "stable"],
            routing_key=before.routing_key, rollout=rollout, action="rolled_back", reason=reason,
            details={"removed": sorted(trial_versions)}), actor=actor, expected_revision=current.revision,
            lifecycle=roll_back_trials(model, trial_versions, actor=actor, reason=reason), settings=settings)
    restored: list[str] = []

    def restore(session, before: DeploymentState):
        touched = apply_rollback(session, model, actor=actor, reason=reason, force=force, by_deployment=True,
                                 settings=settings)
        restored.append(touched[-1].version)
        return touched

    return change(model, lambda before: Change(
        arms=[Arm("stable", restored[0]), *_without(before.arms, roles=("stable",), version=restored[0])],
        routing_key=before.routing_key, rollout=before.rollout, action="rolled_back", version=restored[0],
        reason=reason, details={"from_version": before.stable_version}), actor=actor, lifecycle=restore,
        settings=settings)
