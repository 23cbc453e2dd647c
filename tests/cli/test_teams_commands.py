from __future__ import annotations

import json

from shipyard.cli import main as shipyard
from twin_stores import twins  # noqa: F401  (fixture)


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


def test_the_teams_commands_say_the_same_in_process_and_through_a_server(twins):
    both = twins(lambda: None)
    both.same(["teams", "list"])
    both.same(["teams", "create", "fraud", "--no-separation-of-duties"])
    both.same(["teams", "create", "risk"])
    both.same(["teams", "add-member", "fraud", "alice", "--role", "approver"])
    added, _ = both.same(["teams", "add-member", "fraud", "svc:ci-bot", "--role", "viewer"])
    assert added.out == "fraud: alice (approver), svc:ci-bot (viewer)  [separation of duties off]\n"
    both.same(["teams", "add-member", "fraud", "alice", "--role", "admin"])
    both.same(["teams", "remove-member", "fraud", "svc:ci-bot"])
    listed, _ = both.same(["teams", "list"])
    assert listed.out == "fraud: alice (admin)  [separation of duties off]\nrisk: no members\n"
    as_json, _ = both.same(["teams", "list", "--json"])
    assert json.loads(as_json.out)[0] == {"name": "fraud", "separation_of_duties": False,
                                          "members": {"alice": "admin"}}
    for argv, code, needle in [
        (["teams", "create", "fraud"], 6, "team 'fraud' already exists"),
        (["teams", "add-member", "ghost", "alice", "--role", "viewer"], 8, "there is no team 'ghost'"),
        (["teams", "add-member", "fraud", "alice", "--role", "boss"], 2, "role"),
        (["teams", "remove-member", "fraud", "bob"], 8, "bob is not a member of team fraud"),
    ]:
        both.same(argv, code=code, err=needle)
