"""A team's own production policy: its mandatory shadow stage, on top of the platform's.

Each change is one ``team_policy_changed`` audit event carrying the whole policy, and the
latest one for the team is the policy in force, so who set it and why is always on record.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from shipyard.config import Settings
from shipyard.errors import UsageError
from shipyard.governance.audit import append_event
from shipyard.governance.directory import get_team
from shipyard.governance.identity import current_identity
from shipyard.governance.policy import authorize
from shipyard.store.db import session_scope
from shipyard.store.models import AuditEvent

POLICY_CHANGED = "team_policy_changed"


@dataclass(frozen=True, kw_only=True)
class TeamPolicy:
    team: str
    min_shadow_s: float = 0.0
    """How long each of the team's versions mirrors traffic before it takes live traffic (0: the platform's)."""
    set_by: str | None = None


MAX_SHADOW_S = 366 * 24 * 3600.0


def set_team_policy(team: str, *, min_shadow_s: float, reason: str | None = None,
                    settings: Settings | None = None) -> TeamPolicy:
    """Set the team's mandatory shadow stage (team admins); the platform's minimum still applies."""
    actor = current_identity()
    authorize(actor, "teams.manage", team=team)
    if not 0 <= min_shadow_s <= MAX_SHADOW_S:
        raise UsageError(f"a shadow stage of {min_shadow_s:g} s is not possible; give 0 to {MAX_SHADOW_S:g} seconds "
                         "(a year at most)")
    get_team(team, settings=settings)
    with session_scope(settings) as session:
        append_event(actor=actor.name, action=POLICY_CHANGED,
                     reason=reason or f"team {team}: min_shadow {min_shadow_s:g} s",
                     details={"team": team, "min_shadow_s": float(min_shadow_s)}, session=session)
    return team_policy(team, settings=settings)


def team_policy(team: str | None, *, session=None, settings: Settings | None = None) -> TeamPolicy:
    """The team's policy in force: its latest change, or none (all zero) when it never set one."""
    if team is None:
        return TeamPolicy(team="")
    if session is None:
        with session_scope(settings) as own:
            return team_policy(team, session=own)
    rows = session.scalars(select(AuditEvent).where(AuditEvent.action == POLICY_CHANGED)
                           .order_by(AuditEvent.seq.desc()))
    latest = next((row for row in rows if (row.details or {}).get("team") == team), None)
    if latest is None:
        return TeamPolicy(team=team)
    return TeamPolicy(team=team, min_shadow_s=float(latest.details["min_shadow_s"]), set_by=latest.actor)
