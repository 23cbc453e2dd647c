"""Deployment state: which versions serve a model's traffic, in what shares, and the rollout moving them.

Every change goes through :func:`change`: one transaction that applies the lifecycle
changes that go with it (a version promoted to take the stable arm, a canary rolled
back), checks the new arms, moves the registry references that keep served versions
from being retired, bumps the revision gateways poll, and appends the audit events.
Production and the traffic it gets therefore never disagree, whatever kills the
process; MLflow's mirror of the lifecycle follows once the transaction commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from shipyard.config import Settings, load_settings
from shipyard.errors import NotFoundError, RefusedError
from shipyard.governance.audit import append_event
from shipyard.registry.lifecycle import VersionState, apply_transition, lock_head, mirror_changes, reconcile
from shipyard.store.db import session_scope
from shipyard.store.models import Deployment, ModelHead, ModelVersionState, VersionReference

ROLES = ("stable", "canary", "ab", "shadow")
HOLDER = "deployment"
SERVABLE = {
    "stable": ("production",),
    "canary": ("staging", "production"),
    "ab": ("staging", "production"),
    "shadow": ("candidate", "staging", "production"),
}
ACTIVE_PHASES = ("awaiting_approval", "shadow", "canary")


@dataclass(frozen=True)
class Arm:
    role: str
    version: str
    weight: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"role": self.role, "version": self.version, "weight": self.weight}


@dataclass(frozen=True)
class DeploymentState:
    model: str
    revision: int = 0
    arms: tuple[Arm, ...] = ()
    routing_key: str | None = None
    rollout: dict[str, Any] | None = None
    updated_at: datetime | None = None
    updated_by: str | None = None

    def arm(self, role: str) -> Arm | None:
        return next((a for a in self.arms if a.role == role), None)

    @property
    def stable_version(self) -> str | None:
        stable = self.arm("stable")
        return stable.version if stable else None

    @property
    def rollout_active(self) -> bool:
        return bool(self.rollout) and self.rollout.get("phase") in ACTIVE_PHASES

    def shares(self) -> dict[str, float]:
        """Share of live traffic per role; the stable arm gets what the others leave."""
        live = {a.role: a.weight for a in self.arms if a.role in ("canary", "ab")}
        return {"stable": max(0.0, 1.0 - sum(live.values())), **live}

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "revision": self.revision, "arms": [a.to_dict() for a in self.arms],
                "routing_key": self.routing_key, "rollout": self.rollout,
                "updated_at": self.updated_at.isoformat() if self.updated_at else None, "updated_by": self.updated_by}


@dataclass
class Change:
    """What a mutation wants the deployment to become, and why."""

    arms: list[Arm]
    routing_key: str | None = None
    rollout: dict[str, Any] | None = None
    action: str = "traffic_changed"
    version: str | None = None
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


LifecycleChange = Callable[[Session, DeploymentState], list[VersionState]]
"""Lifecycle transitions applied in a deployment change's transaction; returns the records to mirror."""


def promote_to_stable(model: str, version: str, *, actor: str, reason: str | None) -> LifecycleChange:
    """A stable arm serves the production version: a staging version is promoted (approval enforced)."""

    def promote(session: Session, before: DeploymentState) -> list[VersionState]:
        lock_head(session, model)
        row = session.get(ModelVersionState, (model, version), with_for_update=True)
        if row is not None and row.state == "production":
            return []
        if row is not None and row.state != "staging":
            raise RefusedError(f"{model} version {version} is {row.state}; only a staging or production version "
                               "can take the stable arm", hint=f"promote it first: shipyard models promote {model} "
                                                               f"{version}")
        return apply_transition(session, model, version, "production", actor=actor, action="promoted",
                                reason=reason or "deployed as the stable version", by_deployment=True)

    return promote


def roll_back_trials(model: str, versions: set[str], *, actor: str, reason: str,
                     details: dict[str, Any] | None = None) -> LifecycleChange:
    """Versions taken out of trial traffic that are still staging become ``rolled_back``."""

    def retire(session: Session, before: DeploymentState) -> list[VersionState]:
        touched: list[VersionState] = []
        for version in sorted(versions):
            row = session.get(ModelVersionState, (model, version))
            if row is not None and row.state == "staging":
                touched += apply_transition(session, model, version, "rolled_back", actor=actor, reason=reason,
                                            details=details)
        return touched

    return retire


def _state(row: Deployment) -> DeploymentState:
    return DeploymentState(model=row.model, revision=row.revision, arms=tuple(Arm(**a) for a in row.arms),
                           routing_key=row.routing_key, rollout=row.rollout, updated_at=row.updated_at,
                           updated_by=row.updated_by)


def find_deployment(model: str, *, settings: Settings | None = None) -> DeploymentState | None:
    with session_scope(settings) as session:
        row = session.get(Deployment, model)
        return _state(row) if row is not None else None


def get_deployment(model: str, *, settings: Settings | None = None) -> DeploymentState:
    found = find_deployment(model, settings=settings)
    if found is None:
        raise NotFoundError(f"model '{model}' is not deployed",
                            hint=f"deploy a version first: shipyard deploy {model} VERSION")
    return found


def list_deployments(*, settings: Settings | None = None) -> list[DeploymentState]:
    with session_scope(settings) as session:
        return [_state(r) for r in session.scalars(select(Deployment).order_by(Deployment.model))]


def revisions(models: list[str] | None = None, *, settings: Settings | None = None) -> dict[str, int]:
    """The cheap query gateways poll: each deployment's revision."""
    with session_scope(settings) as session:
        query = select(Deployment.model, Deployment.revision)
        if models:
            query = query.where(Deployment.model.in_(models))
        return dict(session.execute(query).all())


def _check(model: str, arms: list[Arm], session) -> None:
    roles = [a.role for a in arms]
    if not arms:
        return  # a first rollout waiting for its approval
    if roles.count("stable") != 1:
        raise RefusedError(f"a deployment of '{model}' needs exactly one stable arm")
    for role in set(roles):
        if role not in ROLES:
            raise RefusedError(f"'{role}' is not an arm role; use one of {', '.join(ROLES)}")
        if roles.count(role) > 1:
            raise RefusedError(f"a deployment has at most one {role} arm")
    for arm in arms:
        if not 0 <= arm.weight <= 1:
            raise RefusedError(f"the {arm.role} arm's weight {arm.weight:g} is not a share between 0 and 1 "
                               "(write 10% as 0.1)")
        row = session.get(ModelVersionState, (model, arm.version))
        if row is None:
            raise NotFoundError(f"model '{model}' has no registered version {arm.version}",
                                hint=f"`shipyard models list {model}` shows its versions")
        if row.state not in SERVABLE[arm.role]:
            raise RefusedError(f"{model} version {arm.version} is {row.state} and cannot be the {arm.role} arm",
                               hint=f"the {arm.role} arm takes a version that is {' or '.join(SERVABLE[arm.role])}")
    live = sum(a.weight for a in arms if a.role in ("canary", "ab"))
    if live > 1 + 1e-9:
        raise RefusedError(f"the canary and A/B arms ask for {live:.0%} of traffic together; at most 100%")
    versions = [a.version for a in arms if a.role != "shadow"]
    if len(set(versions)) != len(versions):
        raise RefusedError(f"a version of '{model}' can serve live traffic on one arm only")


def change(model: str, mutate: Callable[[DeploymentState], Change], *, actor: str,
           expected_revision: int | None = None, lifecycle: LifecycleChange | None = None,
           settings: Settings | None = None) -> DeploymentState:
    """Apply ``lifecycle`` then ``mutate`` to the current deployment (an empty one if there is none) in one
    transaction.

    With ``expected_revision`` the change is refused if anything else changed the deployment
    first — how rollout controllers on several gateways avoid acting twice.
    """
    settings = settings or load_settings()
    if lifecycle is not None:
        reconcile(settings=settings)
    with session_scope(settings) as session:
        row = session.get(Deployment, model, with_for_update=True)
        before = _state(row) if row is not None else DeploymentState(model=model)
        if expected_revision is not None and before.revision != expected_revision:
            raise RefusedError(f"the deployment of '{model}' changed meanwhile (revision {before.revision}, "
                               f"expected {expected_revision}); nothing was changed")
        touched = lifecycle(session, before) if lifecycle is not None else []
        session.flush()
        wanted = mutate(before)
        if wanted.routing_key is None and any(a.role == "ab" for a in wanted.arms):
            raise RefusedError("an A/B arm needs a routing key", hint="pass --routing-key header:NAME or field:NAME")
        _check(model, wanted.arms, session)
        now = datetime.now(timezone.utc)
        arms = [a.to_dict() for a in wanted.arms]
        if row is None:
            row = Deployment(model=model, revision=0, arms=arms, updated_at=now, updated_by=actor)
            session.add(row)
        row.revision, row.arms, row.routing_key = before.revision + 1, arms, wanted.routing_key
        row.rollout, row.updated_at, row.updated_by = wanted.rollout, now, actor
        _move_references(session, model, before, wanted.arms, wanted.rollout, now)
        append_event(actor=actor, action=wanted.action, model=model, version=wanted.version, reason=wanted.reason,
                     details={"revision": row.revision, "before": [a.to_dict() for a in before.arms],
                              "after": arms, "routing_key": wanted.routing_key, **wanted.details},
                     session=session)
        session.flush()
        after = _state(row)
    if touched:
        mirror_changes(touched, settings)
    return after


def deployment_problems(model: str, *, settings: Settings | None = None) -> list[str]:
    """Where the deployment of ``model`` and the lifecycle disagree (empty when they agree or nothing is deployed)."""
    with session_scope(settings) as session:
        row = session.get(Deployment, model)
        if row is None:
            return []
        state = _state(row)
        head = session.get(ModelHead, model)
        production = head.production_version if head is not None else None
        problems = []
        if state.stable_version is not None and state.stable_version != production:
            problems.append(f"the stable arm serves version {state.stable_version}, but the registry has "
                            f"{'version ' + production if production else 'no version'} in production")
        for arm in state.arms:
            version_row = session.get(ModelVersionState, (model, arm.version))
            current = version_row.state if version_row is not None else "unregistered"
            if current not in SERVABLE.get(arm.role, ()):
                problems.append(f"the {arm.role} arm serves version {arm.version}, which is {current}")
        return problems


def _move_references(session, model: str, before: DeploymentState, arms: list[Arm],
                     rollout: dict[str, Any] | None, now: datetime) -> None:
    wanted = {a.version for a in arms}
    if rollout and rollout.get("phase") in ACTIVE_PHASES:
        wanted.add(str(rollout["version"]))
    held = set(session.scalars(select(VersionReference.version).where(VersionReference.model == model,
                                                                       VersionReference.holder == HOLDER)))
    for version in held - wanted:
        session.delete(session.get(VersionReference, (model, version, HOLDER)))
    for version in wanted - held:
        session.add(VersionReference(model=model, version=version, holder=HOLDER, created_at=now))
