"""Teams and their members through the API, as the governance plane's :class:`TeamInfo`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shipyard.client.remote import rebuild, segment
from shipyard.governance.directory import TeamInfo

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


def _member(team: str, identity: str) -> str:
    return f"/teams/{segment(team)}/members/{segment(identity)}"
