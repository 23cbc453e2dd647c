from __future__ import annotations

import pytest

from shipyard.errors import ForbiddenError, NotFoundError, RefusedError, UsageError
from shipyard.governance import directory
from shipyard.governance.audit import read_events, verify_chain
from shipyard.governance.identity import Identity, acting_as


def _user(name: str, **roles: str) -> Identity:
    return Identity(name=name, kind="user", roles=roles, authenticated=True)


def test_bootstrap_creates_a_platform_admin_only_in_process(database_url):
    directory.bootstrap_admin("root")
    root = directory.load_identity("root")
    assert root.platform_admin and root.authenticated and root.kind == "user"
    event = read_events()[-1]
    assert event.action == "admin_bootstrapped" and event.authenticated is False
    with acting_as(root), pytest.raises(RefusedError, match="bootstrap a platform admin through the server"):
        directory.bootstrap_admin("mallory")
    assert not directory.identity_exists("mallory")


def test_teams_and_members_with_roles(database_url):
    directory.bootstrap_admin("root")
    with acting_as(directory.load_identity("root")):
        directory.create_team("fraud", separation_of_duties=False)
        team = directory.add_member("fraud", "fran", "admin")
    assert team.members == {"fran": "admin"} and not team.separation_of_duties
    with acting_as(directory.load_identity("fran")):
        directory.add_member("fraud", "alice", "developer")
        directory.add_member("fraud", "alice", "approver")
        directory.add_member("fraud", "svc:ci", "developer")
        assert directory.remove_member("fraud", "svc:ci").members == {"alice": "approver", "fran": "admin"}
        with pytest.raises(ForbiddenError, match="only a platform admin"):
            directory.create_team("risk")
    assert directory.load_identity("svc:ci").kind == "service"
    assert [t.name for t in directory.list_teams()] == ["fraud"]
    actors = [(e.actor, e.authenticated) for e in read_events() if e.action.startswith("member_")]
    assert actors[0] == ("root", True) and actors[-1] == ("fran", True)
    assert verify_chain().ok


def test_a_developer_cannot_manage_members_and_mistakes_change_nothing(database_url):
    directory.create_team("fraud")
    directory.create_team("risk")
    directory.add_member("fraud", "alice", "developer")
    before = len(read_events())
    with acting_as(_user("alice", fraud="developer", risk="admin")):
        with pytest.raises(ForbiddenError, match="alice may not teams.manage for team fraud: it is developer"):
            directory.add_member("fraud", "alice", "admin")
    with pytest.raises(UsageError, match="not a role"):
        directory.add_member("fraud", "bob", "owner")
    with pytest.raises(UsageError, match="not a valid identity"):
        directory.add_member("fraud", "bad name", "viewer")
    with pytest.raises(NotFoundError, match="no team 'ghost'"):
        directory.add_member("ghost", "bob", "viewer")
    with pytest.raises(NotFoundError, match="not a member"):
        directory.remove_member("fraud", "bob")
    with pytest.raises(RefusedError, match="already exists"):
        directory.create_team("fraud")
    assert len(read_events()) == before and directory.get_team("fraud").members == {"alice": "developer"}
