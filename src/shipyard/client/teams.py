"""Teams and their members through the API, as the governance plane's :class:`TeamInfo`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shipyard.client.remote import rebuild, segment
from shipyard.governance.directory import TeamInfo
from shipyard.governance.team_policy import TeamPolicy

if TYPE_CHECKING:
    from shipyard.client.http import ApiClient


def create_team(api: ApiClient, name: str, *, separation_of_duties: bool) -> TeamInfo:
    return rebuild(TeamInfo, api.post("/teams", {"name": name, "separation_of_duties": separation_of_duties}))


def list_teams(api: ApiClient) -> list[TeamInfo]:
    """Every team by name, with its members."""
    return rebuild(list[TeamInfo], list(api.pages("/teams", sort="name")))


def add_member(api: ApiClient, team: str, identity: str, role: str) -> TeamInfo:
    return rebuild(TeamInfo, api.put(_member(team, identity), {"role": role}))


def remove_member(api: ApiClient, team: str, identity: str) -> TeamInfo:
    return rebuild(TeamInfo, api.request("DELETE", _member(team, identity)))


def team_policy(api: ApiClient, team: str) -> tuple[TeamPolicy, float]:
    """The team's policy and the server's platform minimum shadow stage."""
    return _policy(api.get(f"/teams/{segment(team)}/policy"))


def set_team_policy(api: ApiClient, team: str, *, min_shadow_s: float) -> tuple[TeamPolicy, float]:
    return _policy(api.put(f"/teams/{segment(team)}/policy", {"min_shadow_s": min_shadow_s}))


def _policy(answer: dict) -> tuple[TeamPolicy, float]:
    return rebuild(TeamPolicy, {k: answer[k] for k in ("team", "min_shadow_s", "set_by")}), \
        float(answer["platform_min_shadow_s"])


def _member(team: str, identity: str) -> str:
    return f"/teams/{segment(team)}/members/{segment(identity)}"
