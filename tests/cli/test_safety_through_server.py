"""The shadow-stage override, a team's shadow policy, the model card and refused reasons: the same both ways,
in-process and through ``shipyard server``."""

from __future__ import annotations

import json

from api_server import api_server, config_home  # noqa: F401  (fixtures)
from shipyard.cli import main
from test_commands_through_server import both_ways, project


def test_shadow_overrides_team_policy_and_the_card_print_the_same_both_ways(api_server, tmp_path, capsys,
                                                                            monkeypatch):
    spec = project(tmp_path / "project")
    assert main(["run", str(spec)]) == 0
    capsys.readouterr()

    local, remote = both_ways(["teams", "policy", "growth"], api_server, capsys, monkeypatch)
    assert local == remote and local[0] == 0
    assert local[1].out == "growth: min_shadow 0 s (platform: 0 s; in force: 0 s)\n"
    monkeypatch.setenv("SHIPYARD_URL", api_server.url)
    monkeypatch.setenv("SHIPYARD_TOKEN", api_server.tokens["root"])
    assert main(["teams", "policy", "growth", "--min-shadow", "2h"]) == 0
    assert capsys.readouterr().out == "growth: min_shadow 7200 s (platform: 0 s; in force: 7200 s)\n"
    monkeypatch.setenv("SHIPYARD_TOKEN", api_server.tokens["vera"])
    assert main(["teams", "policy", "growth", "--min-shadow", "1h"]) == 6
    assert "vera may not teams.manage for team growth" in capsys.readouterr().err
    assert main(["models", "override-shadow", "churny", "1", "--reason", "hotfix"]) == 6
    assert "vera may not shadow.override for team growth" in capsys.readouterr().err
    monkeypatch.setenv("SHIPYARD_TOKEN", api_server.tokens["root"])
    assert main(["models", "override-shadow", "churny", "1", "--reason", " "]) == 6
    assert "skipping or shortening the shadow stage must give a reason" in capsys.readouterr().err
    assert main(["models", "override-shadow", "churny", "1", "--reason", "a security fix", "--min-shadow",
                 "10m"]) == 0
    assert capsys.readouterr().out == ("churny version 1 may take live traffic after 600 s of shadow (recorded in "
                                       "the audit log and on its model card)\n")
    monkeypatch.delenv("SHIPYARD_URL")
    from shipyard.governance.audit import read_events

    event = read_events(model="churny")[-1]
    assert (event.action, event.actor, event.authenticated, event.details["allowed_s"]) == (
        "shadow_overridden", "root", True, 600.0)

    local, remote = both_ways(["teams", "policy", "growth"], api_server, capsys, monkeypatch)
    assert local == remote and "in force: 7200 s" in local[1].out
    local, remote = both_ways(["models", "card", "churny", "1"], api_server, capsys, monkeypatch)
    assert local == remote and local[0] == 0
    assert "## Shadow-stage overrides" in remote[1].out
    assert "by root: shortened to 600 s (required 7200 s): a security fix" in remote[1].out
    local, remote = both_ways(["models", "card", "churny", "1", "--json"], api_server, capsys, monkeypatch)
    assert local == remote
    assert [o["reason"] for o in json.loads(remote[1].out)["shadow_overrides"]] == ["a security fix"]


def test_a_missing_or_empty_reason_is_refused_with_the_same_exit_code_and_words_both_ways(api_server, tmp_path,
                                                                                         capsys, monkeypatch):
    spec = project(tmp_path / "project")
    assert main(["run", str(spec)]) == 0
    capsys.readouterr()
    for argv, words in ((["models", "rollback", "churny"], "a rollback must give a reason"),
                        (["models", "rollback", "churny", "--reason", ""], "a rollback must give a reason"),
                        (["models", "override", "churny", "1", "--reason", ""], "a gate override must give a reason")):
        local, remote = both_ways(argv, api_server, capsys, monkeypatch)
        assert local[0] == remote[0] == 6, argv
        assert local[1].err == remote[1].err and words in remote[1].err, argv
