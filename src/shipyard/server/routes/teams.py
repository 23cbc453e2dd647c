"""``/api/v1/teams``: the teams, their members and each member's role."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Path

from shipyard.config import Settings
from shipyard.server.auth import Caller, caller
from shipyard.server.pagination import Page, Window, parse_sort, sort_in_memory, sort_query, window
from shipyard.server.problems import problem_responses
from shipyard.server.schemas import IDENTITY_NAME, MemberIn, QuotaOut, TeamIn, TeamOut
from shipyard.server.settings import app_settings

router = APIRouter(prefix="/teams", tags=["teams"])
CHANGES = problem_responses(400, 401, 403, 404, 409, 422, 503)
MemberName = Annotated[str, Path(pattern=IDENTITY_NAME, description="svc:NAME for a service account.")]
TEAM_SORT = {"name": lambda t: t.name, "members": lambda t: (len(t.members), t.name)}


@router.get("", response_model=Page[TeamOut], summary="The teams and their members",
            responses=problem_responses(400, 401, 403, 422, 503))
def list_teams(sort: str = sort_query("name", tuple(TEAM_SORT)), page: Window = Depends(window),
               who: Caller = Depends(caller), settings: Settings = Depends(app_settings)) -> dict:
    from shipyard.governance.directory import list_teams as teams

    order = parse_sort(sort, tuple(TEAM_SORT))
    with who.acting():
        found = teams(settings=settings)
    return page.slice([asdict(t) for t in sort_in_memory(found, order, TEAM_SORT)])


@router.post("", response_model=TeamOut, status_code=201, summary="Create a team (platform admins)",
             responses=CHANGES)
def create_team(body: TeamIn, who: Caller = Depends(caller), settings: Settings = Depends(app_settings)) -> dict:
    from shipyard.governance.directory import create_team as create

    with who.acting():
        return asdict(create(body.name, separation_of_duties=body.separation_of_duties, settings=settings))


@router.get("/{team}", response_model=TeamOut, summary="One team with its members",
            responses=problem_responses(401, 403, 404, 503))
def show_team(team: str, who: Caller = Depends(caller), settings: Settings = Depends(app_settings)) -> dict:
    from shipyard.governance.directory import get_team

    with who.acting():
        return asdict(get_team(team, settings=settings))


@router.get("/{team}/quota", response_model=QuotaOut, summary="The team's quota and what its running runs hold",
            responses=problem_responses(400, 401, 403, 404, 503))
def team_quota(team: str, who: Caller = Depends(caller), settings: Settings = Depends(app_settings)) -> dict:
    from shipyard.governance.admission import usage
    from shipyard.governance.directory import get_team
    from shipyard.governance.quotas import Quota, load_quotas

    with who.acting():
        get_team(team, settings=settings)
        table = load_quotas(settings)
        quota = table.teams.get(team, table.default) if table is not None else Quota()
        now = usage(team, settings=settings)
    return {"team": team, "source": table.source if table is not None else None, "limits": asdict(quota),
            "used": {"runs": now.runs, **asdict(now.held)}, "queued": now.queued}


@router.put("/{team}/members/{identity}", response_model=TeamOut,
            summary="Give an identity a role in the team, replacing its role there (team admins)", responses=CHANGES)
def add_member(team: str, identity: MemberName, body: MemberIn, who: Caller = Depends(caller),
               settings: Settings = Depends(app_settings)) -> dict:
    from shipyard.governance.directory import add_member as add

    with who.acting():
        return asdict(add(team, identity, body.role, settings=settings))


@router.delete("/{team}/members/{identity}", response_model=TeamOut, summary="Take an identity out of the team "
               "(team admins)", responses=CHANGES)
def remove_member(team: str, identity: MemberName, who: Caller = Depends(caller),
                  settings: Settings = Depends(app_settings)) -> dict:
    from shipyard.governance.directory import remove_member as remove

    with who.acting():
        return asdict(remove(team, identity, settings=settings))
