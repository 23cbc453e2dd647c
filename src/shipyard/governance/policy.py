"""Who may do what: the one role x operation table.

Roles are per team and ordered ``viewer < developer < approver < admin``; a role allows
everything the roles below it allow. A team-scoped operation names the team owning the
model (or pipeline) it touches; a read needs a role in any team. A platform admin may do everything; the local identity
(in-process use without a server) keeps what it always could.
"""

from __future__ import annotations

from types import MappingProxyType

from shipyard.errors import ForbiddenError
from shipyard.governance.identity import ROLES, Identity

RANK = MappingProxyType({role: rank for rank, role in enumerate(ROLES)})

OPERATIONS = MappingProxyType({
    "models.read": "viewer",
    "runs.read": "viewer",
    "audit.read": "viewer",
    "teams.read": "viewer",
    "cost.read": "viewer",
    "runs.start": "developer",
    "runs.cancel": "developer",
    "lifecycle.promote": "developer",
    "lifecycle.reject": "developer",
    "lifecycle.archive": "developer",
    "gates.evaluate": "developer",
    "drift.compute": "developer",
    "deploy.canary": "developer",
    "traffic.set": "developer",
    "rollback": "developer",
    "lifecycle.approve": "approver",
    "deploy.production": "approver",
    "lifecycle.override": "admin",
    "shadow.override": "admin",
    "teams.manage": "admin",
    "tokens.manage": "admin",
})
"""Operation -> the least team role that allows it."""

READ_OPERATIONS = frozenset({"models.read", "runs.read", "audit.read", "teams.read", "cost.read"})
"""Reads span teams: the catalog, runs, audit log, team directory and cost are open to every member of any
team, so that anyone on the platform can find who owns a model and what it takes. A role in some team is what
they need."""

PLATFORM_OPERATIONS = frozenset({"teams.create", "identities.manage", "audit.manage"})
"""Operations on the platform itself: only a platform admin (or the local identity) may do them."""

DESCRIPTIONS = MappingProxyType({
    "viewer": "read models, versions, runs, deployments, the audit log, the teams and cost",
    "developer": "run pipelines; promote to staging, reject, archive; evaluate gates; compute drift reports; "
                 "deploy canaries, A/B and shadow arms; "
                 "set their traffic; roll back",
    "approver": "approve promotions to production and deploy to production",
    "admin": "manage the team's members and tokens; override failed or missing gates and skip or shorten the "
             "mandatory shadow stage (with a reason)",
})


TABLE_COLUMNS = (*ROLES, "platform admin")


def operation_table() -> list[tuple[str, tuple[bool, ...]]]:
    """Each operation on a team's models, and whether each of :data:`TABLE_COLUMNS` may do it (the README's
    roles table), as :func:`allowed` answers for a member of that team holding the role."""
    holders = [Identity(name=role, kind="user", roles={"team": role}, authenticated=True) for role in ROLES]
    holders.append(Identity(name="root", kind="user", platform_admin=True, authenticated=True))
    operations = [*OPERATIONS, *sorted(PLATFORM_OPERATIONS)]
    return [(operation, tuple(allowed(holder, operation, team="team") for holder in holders))
            for operation in operations]


def allowed(identity: Identity, operation: str, *, team: str | None) -> bool:
    return _refusal(identity, operation, team) is None


def authorize(identity: Identity, operation: str, *, team: str | None) -> None:
    """Raise :class:`ForbiddenError` with the reason unless ``identity`` may do ``operation`` on ``team``."""
    reason = _refusal(identity, operation, team)
    if reason is not None:
        message, hint = reason
        raise ForbiddenError(message, hint=hint)


def refusal(identity: Identity, operation: str, *, team: str | None) -> str | None:
    """Why ``identity`` may not do ``operation`` on ``team`` (the refusal and what to do), or None when it may."""
    reason = _refusal(identity, operation, team)
    return None if reason is None else f"{reason[0]}; {reason[1]}"


def role_allows(role: str | None, operation: str) -> bool:
    needed = OPERATIONS[operation]
    return role is not None and RANK[role] >= RANK[needed]


def _refusal(identity: Identity, operation: str, team: str | None) -> tuple[str, str] | None:
    if operation not in OPERATIONS and operation not in PLATFORM_OPERATIONS:
        raise ValueError(f"unknown operation {operation!r}; known: {', '.join(sorted(OPERATIONS))}")
    if identity.is_local or identity.platform_admin:
        return None
    if operation in PLATFORM_OPERATIONS:
        return (f"{identity.name} may not {operation}: only a platform admin may",
                "ask a platform admin (created with `shipyard admin bootstrap`) to do it")
    if operation in READ_OPERATIONS:
        if any(role_allows(role, operation) for role in identity.roles.values()):
            return None
        return (f"{identity.name} may not {operation}: it has no role in any team, and reading needs viewer or "
                "above in one", "ask an admin of your team for the viewer role")
    if team is None:
        return (f"{identity.name} may not {operation} here: it belongs to no team, so only a platform admin may",
                "give the pipeline a `team:` in its spec so that the team's roles apply")
    role = identity.roles.get(team)
    if role_allows(role, operation):
        return None
    needed = OPERATIONS[operation]
    held = f"is {role} in team {team}" if role else f"has no role in team {team}"
    return (f"{identity.name} may not {operation} for team {team}: it {held}, and {operation} needs {needed} "
            "or above", f"ask an admin of team {team} for the {needed} role")
