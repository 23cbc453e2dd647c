from __future__ import annotations

import json

from shipyard.cli import main as shipyard


def test_teams_create_add_list_remove(shipyard_home, capsys):
    assert shipyard(["teams", "create", "fraud", "--no-separation-of-duties"]) == 0
    assert shipyard(["teams", "add-member", "fraud", "alice", "--role", "approver"]) == 0
    assert shipyard(["teams", "add-member", "fraud", "bob", "--role", "viewer"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == \
        "fraud: alice (approver), bob (viewer)  [separation of duties off]"
    assert shipyard(["teams", "remove-member", "fraud", "bob"]) == 0
    capsys.readouterr()
    assert shipyard(["teams", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [
        {"name": "fraud", "separation_of_duties": False, "members": {"alice": "approver"}}]


def test_team_mistakes_exit_non_zero(shipyard_home, capsys):
    assert shipyard(["teams", "add-member", "ghost", "alice", "--role", "viewer"]) == 8
    assert shipyard(["teams", "create", "fraud"]) == 0
    assert shipyard(["teams", "create", "fraud"]) == 6
    assert shipyard(["teams", "add-member", "fraud", "alice", "--role", "boss"]) == 2
    assert "use one of viewer, developer, approver, admin" in capsys.readouterr().err
