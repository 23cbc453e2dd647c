"""``shipyard cost`` and ``shipyard cost digest``: in-process, through a server, and to a real webhook receiver."""

from __future__ import annotations

import json
import time

import pytest

from cost_records import seed_three_teams
from shipyard.cli import main as shipyard
from twin_stores import twins  # noqa: F401  (fixture)
from webhook_receiver_path import Receiver

PRICES = "currency = \"EUR\"\ncpu = 0.1\nrequests = 0.5\n[gpu]\ndefault = 3.0\n"


@pytest.fixture
def priced(shipyard_home):
    shipyard_home.mkdir(parents=True)
    (shipyard_home / "prices.toml").write_text(PRICES)
    seed_three_teams()
    return shipyard_home


def test_cost_adds_up_by_team_model_and_run(priced, capsys):
    assert shipyard(["cost"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("cost ") and lines[0].endswith("by team: 3.5010 EUR")
    assert [line.split()[:2] for line in lines[1:]] == [["risk", "3.1000"], ["growth", "0.4000"],
                                                        ["(no", "team)"]]
    assert shipyard(["cost", "--by", "run", "--team", "growth"]) == 0
    out = capsys.readouterr().out
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["b1b2c3d4e5f6", "a1b2c3d4e5f6"]
    assert "team growth" in out and "0.4000 EUR" in out.splitlines()[0]
    assert shipyard(["cost", "--by", "model", "--model", "fraud", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["by"] == "model" and body["total"] == pytest.approx(3.1)
    assert body["lines"] == [{"key": "fraud", "team": "risk", "model": "fraud", "cost": pytest.approx(3.1),
                              "compute_hours": pytest.approx(1.0), "requests": 0, "records": 1,
                              "serving_hours": 0.0, "per_1000_predictions": None}]
    assert shipyard(["cost", "--team", "nobody"]) == 0
    assert "nothing ran or was served in the window" in capsys.readouterr().out


def test_cost_charges_the_gateways_serving_time_and_says_what_1000_predictions_cost(priced, capsys):
    from cost_records import serve_two_weeks
    from shipyard.config import load_settings
    from shipyard.serving.serving_time import ServingClock

    serve_two_weeks()
    clock = [time.time() - 2 * 86400]
    serving = ServingClock(lambda: ["aml"], load_settings().prediction_log_root, {"cpu": 2.0}, clock=lambda: clock[0])
    clock[0] += 1800
    serving.record()
    assert shipyard(["cost", "--by", "model", "--model", "aml"]) == 0
    line = capsys.readouterr().out.splitlines()[1]
    # 4,000 requests at 0.5 per 1,000 and half an hour of a 2-core gateway at 0.1 per core-hour
    assert line.split()[:2] == ["aml", "2.1000"]
    assert "0.500 gateway-h, 4,000 requests, 0.5250 per 1k predictions" in line


def test_cost_mistakes_exit_2_with_what_to_do(shipyard_home, capsys):
    assert shipyard(["cost"]) == 2
    assert "no price list is declared" in capsys.readouterr().err
    shipyard_home.mkdir(parents=True)
    (shipyard_home / "prices.toml").write_text("cpu = 'a lot'")
    assert shipyard(["cost"]) == 2
    assert "invalid price list" in capsys.readouterr().err
    (shipyard_home / "prices.toml").write_text(PRICES)
    assert shipyard(["cost", "--since", "a week"]) == 2
    assert "e.g. 30m, 12h, 7d, 2w" in capsys.readouterr().err
    assert shipyard(["cost", "--by", "day"]) == 2
    assert "group by one of team, model, run" in capsys.readouterr().err


def test_the_digest_posts_markdown_text_and_the_figures_as_json(priced, capsys):
    with Receiver() as receiver:
        assert shipyard(["cost", "digest", "--webhook", receiver.url]) == 0
        assert shipyard(["cost", "digest", "--webhook", receiver.url, "--format", "json"]) == 0
    assert "posted to 1 webhook (platform)" in capsys.readouterr().out
    text, data = receiver.received
    assert set(text) == {"text"}
    lines = text["text"].splitlines()
    assert lines[0].startswith("# Cost digest ") and lines[0].endswith(", all teams (EUR)")
    assert lines[2] == "Spent **3.50 EUR** this week: +3.50 (new) from 0.00 the week before."
    assert "| risk | 3.10 | 0.00 | +3.10 | new |" in lines
    assert data["event"] == "shipyard.cost.digest" and data["currency"] == "EUR"
    assert [(t["team"], t["cost"], [m["model"] for m in t["top_models"]]) for t in data["teams"]] == [
        ("risk", 3.1, ["fraud"]), ("growth", 0.4, ["churn"]), ("(no team)", 0.001, ["orphan"])]
    assert data["markdown"] == text["text"] and data["html"].startswith("<!DOCTYPE html>")


def test_without_webhook_each_team_gets_its_own_part_and_the_platform_the_whole_over_two_weeks(shipyard_home, capsys):
    from cost_records import seed_two_weeks

    shipyard_home.mkdir(parents=True)
    seed_two_weeks()
    with Receiver() as platform, Receiver() as growth, Receiver() as risk:
        (shipyard_home / "prices.toml").write_text(
            PRICES + f'[digest]\nwebhook = "{platform.url}"\nformat = "json"\n'
                     f'[digest.teams.growth]\nwebhook = "{growth.url}"\nformat = "html"\n'
                     f'[digest.teams.risk]\nwebhook = "{risk.url}"\n')
        assert shipyard(["cost", "digest"]) == 0
    out = capsys.readouterr().out
    assert "posted to 3 webhooks (platform, team growth, team risk)" in out
    (whole,), (mine,), (theirs,) = platform.received, growth.received, risk.received
    assert (whole["total"], whole["previous_total"], whole["total_change"], whole["total_change_pct"]) == \
        (4.05, 4.5, -0.45, -10.0)
    assert [(t["team"], t["cost"], t["previous"], t["change"], t["change_pct"]) for t in whole["teams"]] == [
        ("risk", 3.65, 3.1, 0.55, 17.7), ("growth", 0.4, 1.4, -1.0, -71.4)]
    assert [(m["model"], m["cost"], m["previous"], m["change_pct"]) for m in whole["models"]] == [
        ("aml", 2.1, 0.0, None), ("fraud", 1.55, 3.1, -50.0), ("churn", 0.4, 1.2, -66.7), ("upsell", 0.0, 0.2, -100.0)]
    assert [m["model"] for m in whole["movers"]["increases"]] == ["aml"]
    assert [m["model"] for m in whole["movers"]["decreases"]] == ["fraud", "churn", "upsell"]
    assert set(mine) == {"subject", "html", "text"} and "team growth" in mine["subject"]
    assert "<td>churn</td><td>growth</td><td>0.40</td><td>1.20</td><td>-0.80</td><td>-66.7%</td>" in mine["html"]
    assert "fraud" not in mine["html"] and "aml" not in mine["text"]
    assert theirs["scope"] == "team" and theirs["team"] == "risk", "a team takes [digest]'s format unless it sets one"
    assert "Spent **3.65 EUR** this week: +0.55 (+17.7%) from 3.10 the week before." in theirs["markdown"]
    assert "| aml | risk | 2.10 | 0.00 | +2.10 | new |" in theirs["markdown"] and "churn" not in theirs["markdown"]


def test_teams_without_a_webhook_are_named_and_bad_digest_targets_exit_2_posting_nothing(priced, capsys):
    with Receiver() as growth:
        (priced / "prices.toml").write_text(PRICES + f'[digest.teams.growth]\nwebhook = "{growth.url}"\n')
        assert shipyard(["cost", "digest"]) == 0
        out = capsys.readouterr().out
        assert "posted to 1 webhook (team growth)" in out and "no webhook declared for: (no team), risk" in out
        assert [body["text"].splitlines()[0].endswith("team growth (EUR)") for body in growth.received] == [True]
        for bad, says in ((f'[digest.teams.risk]\nwebhook = "{growth.url}"\nformat = "pdf"\n',
                           "digest.teams.risk.format = 'pdf' is not a digest format"),
                          ('[digest]\nwebhook = "hooks.example"\n', "'hooks.example' is not an http(s) URL"),
                          ('[digest.teams.risk]\nformat = "text"\n', "digest.teams.risk has no webhook")):
            (priced / "prices.toml").write_text(PRICES + bad)
            assert shipyard(["cost", "digest"]) == 2
            err = capsys.readouterr().err
            assert "invalid digest targets" in err and says in err
        (priced / "prices.toml").write_text(PRICES)
        assert shipyard(["cost", "digest"]) == 2
        assert "no webhook to post the digest to" in capsys.readouterr().err
        assert growth.attempts == 1


def test_a_digest_a_webhook_refuses_fails_with_exit_5_and_bad_targets_post_nothing(priced, capsys):
    with Receiver(fail_first=100, status=500) as receiver:
        assert shipyard(["cost", "digest", "--webhook", receiver.url]) == 5
        assert receiver.attempts == 3 and not receiver.received
    assert "webhook failed" in capsys.readouterr().err
    with Receiver() as receiver:
        assert shipyard(["cost", "digest", "--webhook", "ftp://example"]) == 2
        assert shipyard(["cost", "digest", "--webhook", receiver.url, "--format", "xml"]) == 2
        assert receiver.attempts == 0
    err = capsys.readouterr().err
    assert "is not an http(s) URL" in err and "no digest format 'xml'" in err


def test_cost_and_its_digest_say_the_same_in_process_and_through_a_server(twins):
    def seed():
        from shipyard.config import load_settings

        home = load_settings().home
        home.mkdir(parents=True, exist_ok=True)
        (home / "prices.toml").write_text(PRICES)
        seed_three_teams()

    both = twins(seed)
    both.same(["cost"])
    both.same(["cost", "--by", "run"])
    both.same(["cost", "--by", "model", "--team", "growth"])
    both.same(["cost", "--since", "1h", "--by", "day"], code=2)
    with Receiver() as receiver:
        both.same(["cost", "digest", "--webhook", receiver.url, "--format", "json"])
    local, remote = receiver.received
    for body in (local, remote):
        body.pop("since"), body.pop("until"), body.pop("previous_since")
    assert local == remote


def test_the_cli_offers_the_groupings_the_governance_plane_knows():
    from shipyard.cli.cost import GROUPINGS as offered
    from shipyard.governance.cost import GROUPINGS

    assert offered == GROUPINGS
