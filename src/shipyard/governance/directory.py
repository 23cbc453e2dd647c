"""The directory of identities and teams: who exists, which team owns which model, who holds which role."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select

from shipyard.config import Settings
from shipyard.errors import NotFoundError, RefusedError, UsageError
from shipyard.governance.audit import append_event
from shipyard.governance.identity import ROLES, SERVICE_PREFIX, Identity, current_identity
from shipyard.governance.policy import authorize
from shipyard.store.db import session_scope
from shipyard.store.models import IdentityRow, ModelOwner, Team, TeamMember

NAME = re.compile(r"^(svc:)?[A-Za-z0-9][A-Za-z0-9._@-]{0,120}$")


@dataclass(frozen=True, kw_only=True)
class TeamInfo:
    name: str
    separation_of_duties: bool
    members: dict[str, str]
    """Identity -> role."""


def _now() -> datetime:
    return datetime.now(timezone.utc)


def check_name(name: str, what: str) -> str:
    if not NAME.match(name or ""):
        raise UsageError(f"{name!r} is not a valid {what} name",
                         hint="use letters, digits, '.', '_', '@' or '-' (service accounts start with 'svc:')")
    return name


def kind_of(name: str) -> str:
    return "service" if name.startswith(SERVICE_PREFIX) else "user"


def _ensure_identity(session, name: str, *, platform_admin: bool = False) -> IdentityRow:
    row = session.get(IdentityRow, name)
    if row is None:
        row = IdentityRow(name=name, kind=kind_of(name), platform_admin=platform_admin, created_at=_now(),
                          created_by=current_identity().name)
        session.add(row)
        session.flush()
    elif platform_admin and not row.platform_admin:
        row.platform_admin = True
    return row


def bootstrap_admin(name: str, *, settings: Settings | None = None) -> None:
    """Make ``name`` a platform admin; only in-process, by the local identity on the machine holding the store."""
    check_name(name, "user")
    actor = current_identity()
    if not actor.is_local:
        raise RefusedError(f"{actor.name} may not bootstrap a platform admin through the server",
                           hint="run `shipyard admin bootstrap NAME` on the machine that holds the store")
    with session_scope(settings) as session:
        _ensure_identity(session, name, platform_admin=True)
        append_event(actor=actor.name, action="admin_bootstrapped", reason=f"{name} made a platform admin",
                     details={"identity": name}, session=session)


def load_identity(name: str, *, settings: Settings | None = None, session=None) -> Identity:
    """The authenticated identity ``name`` with its team roles, as the store records them."""
    if session is None:
        with session_scope(settings) as own:
            return load_identity(name, session=own)
    row = session.get(IdentityRow, name)
    if row is None:
        raise NotFoundError(f"there is no identity '{name}'")
    roles = {m.team: m.role for m in session.scalars(select(TeamMember).where(TeamMember.identity == name))}
    return Identity(name=row.name, kind=row.kind, roles=roles, platform_admin=row.platform_admin,
                    authenticated=True)


def identity_exists(name: str, *, settings: Settings | None = None) -> bool:
    with session_scope(settings) as session:
        return session.get(IdentityRow, name) is not None


def create_team(name: str, *, separation_of_duties: bool = True, settings: Settings | None = None) -> TeamInfo:
    check_name(name, "team")
    if name.startswith(SERVICE_PREFIX):
        raise UsageError(f"{name!r} is not a valid team name", hint="team names do not start with 'svc:'")
    actor = current_identity()
    authorize(actor, "teams.create", team=None)
    with session_scope(settings) as session:
        if session.get(Team, name) is not None:
            raise RefusedError(f"team '{name}' already exists", hint="`shipyard teams list` shows the teams")
        session.add(Team(name=name, separation_of_duties=separation_of_duties, created_at=_now()))
        append_event(actor=actor.name, action="team_created", reason=f"team {name} created",
                     details={"team": name, "separation_of_duties": separation_of_duties}, session=session)
    return get_team(name, settings=settings)


def get_team(name: str, *, settings: Settings | None = None) -> TeamInfo:
    with session_scope(settings) as session:
        team = session.get(Team, name)
        if team is None:
            raise NotFoundError(f"there is no team '{name}'", hint="`shipyard teams list` shows the teams; "
                                "a platform admin creates one with `shipyard teams create NAME`")
        return _info(session, team)


def list_teams(*, settings: Settings | None = None) -> list[TeamInfo]:
    with session_scope(settings) as session:
        return [_info(session, team) for team in session.scalars(select(Team).order_by(Team.name))]


def _info(session, team: Team) -> TeamInfo:
    members = session.scalars(select(TeamMember).where(TeamMember.team == team.name)
                              .order_by(TeamMember.identity))
    return TeamInfo(name=team.name, separation_of_duties=team.separation_of_duties,
                    members={m.identity: m.role for m in members})


def add_member(team: str, identity: str, role: str, *, settings: Settings | None = None) -> TeamInfo:
    """Give ``identity`` ``role`` in ``team`` (replacing its role there); unknown identities are created."""
    check_name(identity, "identity")
    if role not in ROLES:
        raise UsageError(f"'{role}' is not a role", hint=f"use one of {', '.join(ROLES)}")
    actor = current_identity()
    authorize(actor, "teams.manage", team=team)
    get_team(team, settings=settings)
    with session_scope(settings) as session:
        _ensure_identity(session, identity)
        member = session.get(TeamMember, (team, identity))
        before = member.role if member else None
        if member is None:
            session.add(TeamMember(team=team, identity=identity, role=role))
        else:
            member.role = role
        append_event(actor=actor.name, action="member_added", reason=f"{identity} is {role} in team {team}",
                     details={"team": team, "identity": identity, "role": role, "previous_role": before},
                     session=session)
    return get_team(team, settings=settings)


def remove_member(team: str, identity: str, *, settings: Settings | None = None) -> TeamInfo:
    actor = current_identity()
    authorize(actor, "teams.manage", team=team)
    with session_scope(settings) as session:
        member = session.get(TeamMember, (team, identity))
        if member is None:
            get_team(team, settings=settings)
            raise NotFoundError(f"{identity} is not a member of team {team}",
                                hint=f"`shipyard teams list` shows the members of {team}")
        role = member.role
        session.delete(member)
        append_event(actor=actor.name, action="member_removed", reason=f"{identity} left team {team}",
                     details={"team": team, "identity": identity, "role": role}, session=session)
    return get_team(team, settings=settings)


def separation_of_duties(team: str | None, *, settings: Settings | None = None, session=None) -> bool:
    """Whether ``team`` keeps a run's starter from approving its versions (on for teams not in the store)."""
    if team is None:
        return True
    if session is not None:
        row = session.get(Team, team)
        return True if row is None else row.separation_of_duties
    with session_scope(settings) as own:
        return separation_of_duties(team, session=own)


def model_team(model: str, *, settings: Settings | None = None, session=None) -> str | None:
    """The team owning ``model``, or None when no run or registration named one."""
    if session is not None:
        row = session.get(ModelOwner, model)
        return row.team if row else None
    with session_scope(settings) as own:
        return model_team(model, session=own)


def record_owner(model: str, team: str | None, *, session) -> None:
    """Record ``team`` as the owner of ``model``; a model never changes hands by a spec edit."""
    if team is None:
        return
    row = session.get(ModelOwner, model)
    if row is None:
        session.add(ModelOwner(model=model, team=team, recorded_at=_now()))
        session.flush()
    elif row.team != team:
        raise RefusedError(f"model '{model}' is owned by team {row.team}, but the spec says team {team}",
                           hint=f"set `team: {row.team}` in the spec, or register the model under another name")
