"""The weekly digest's figures, its Markdown and HTML, its targets, and its delivery to real receivers."""

from datetime import datetime, timedelta, timezone

import pytest

from shipyard.errors import BackendError, SpecError, UsageError
from shipyard.governance.cost import NO_TEAM, CostLine, CostReport
from shipyard.governance.cost_digest import deliver, digest, earlier, payload, team_part
from shipyard.governance.digest_render import render_html, render_markdown
from shipyard.governance.digest_targets import DigestTarget, parse_digest_targets
from shipyard.governance.prices import parse_prices
from webhook_receiver_path import Receiver

UNTIL = datetime(2026, 3, 9, tzinfo=timezone.utc)
WEEK = timedelta(days=7)


def by_model(lines, *, since, until, unpriced=0):
    built = [CostLine(key=model, team=team, model=model, cost=cost, compute_hours=hours, requests=requests,
                      records=1) for model, team, cost, hours, requests in lines]
    return CostReport(currency="EUR", since=since, until=until, by="model", total=sum(line.cost for line in built),
                      lines=built, unpriced_steps=unpriced)


CURRENT = by_model([("churn", "growth", 0.4, 1.0, 0), ("fraud", "risk", 1.55, 0.5, 0),
                    ("aml", "risk", 2.1, 1.0, 4000)], since=UNTIL - WEEK, until=UNTIL, unpriced=2)
PREVIOUS = by_model([("churn", "growth", 1.2, 1.0, 2000), ("upsell", "growth", 0.2, 2.0, 0),
                     ("fraud", "risk", 3.1, 1.0, 0)], since=UNTIL - 2 * WEEK, until=UNTIL - WEEK)


def test_spend_per_team_and_model_with_the_change_from_the_week_before_and_the_top_movers():
    body = digest(CURRENT, PREVIOUS)
    assert (body["total"], body["previous_total"], body["total_change"], body["total_change_pct"]) == \
        (4.05, 4.5, -0.45, -10.0)
    assert [(t["team"], t["cost"], t["previous"], t["change"], t["change_pct"]) for t in body["teams"]] == [
        ("risk", 3.65, 3.1, 0.55, 17.7), ("growth", 0.4, 1.4, -1.0, -71.4)]
    assert [(m["model"], m["team"], m["cost"], m["previous"], m["change"], m["change_pct"]) for m in body["models"]] \
        == [("aml", "risk", 2.1, 0.0, 2.1, None), ("fraud", "risk", 1.55, 3.1, -1.55, -50.0),
            ("churn", "growth", 0.4, 1.2, -0.8, -66.7), ("upsell", "growth", 0.0, 0.2, -0.2, -100.0)]
    assert [m["model"] for m in body["movers"]["increases"]] == ["aml"]
    assert [m["model"] for m in body["movers"]["decreases"]] == ["fraud", "churn", "upsell"]
    growth = body["teams"][1]
    assert growth["models"] == ["churn", "upsell"] and growth["top_models"][0] == {"model": "churn", "cost": 0.4}
    assert [m["model"] for m in growth["movers"]["decreases"]] == ["churn", "upsell"]
    assert body["unpriced_steps"] == 2


def test_the_week_before_is_the_longer_window_less_the_recent_one():
    both = by_model([("churn", "growth", 1.6, 2.0, 2000), ("upsell", "growth", 0.2, 2.0, 0)],
                    since=UNTIL - 2 * WEEK, until=UNTIL, unpriced=3)
    recent = by_model([("churn", "growth", 0.4, 1.0, 0)], since=UNTIL - WEEK, until=UNTIL, unpriced=1)
    before = earlier(both, recent)
    assert (before.since, before.until, before.unpriced_steps) == (UNTIL - 2 * WEEK, UNTIL - WEEK, 2)
    assert [(line.key, round(line.cost, 4), line.compute_hours, line.requests) for line in before.lines] == [
        ("churn", 1.2, 1.0, 2000), ("upsell", 0.2, 2.0, 0)]
    with pytest.raises(UsageError, match="by model"):
        earlier(both, CostReport(currency="EUR", since=UNTIL, until=UNTIL, by="team", total=0))


def test_a_team_is_sent_its_own_row_models_and_movers_only():
    part = team_part(digest(CURRENT, PREVIOUS), "growth")
    assert part["scope"] == "team" and part["team"] == "growth"
    assert (part["total"], part["previous_total"], part["total_change"], part["total_change_pct"]) == \
        (0.4, 1.4, -1.0, -71.4)
    assert [t["team"] for t in part["teams"]] == ["growth"]
    assert {m["model"] for m in part["models"]} == {"churn", "upsell"}
    assert part["movers"]["increases"] == [] and part["unpriced_steps"] == 0
    idle = team_part(digest(CURRENT, PREVIOUS), "search")
    assert (idle["total"], idle["models"], idle["teams"][0]["change_pct"]) == (0.0, [], None)


def test_markdown_has_the_tables_the_change_and_the_movers():
    text = render_markdown(digest(CURRENT, PREVIOUS))
    lines = text.splitlines()
    assert lines[0] == "# Cost digest 2026-03-02 to 2026-03-09, all teams (EUR)"
    assert lines[2] == "Spent **4.05 EUR** this week: -0.45 (-10.0%) from 4.50 the week before."
    assert "| risk | 3.65 | 3.10 | +0.55 | +17.7% |" in lines
    assert "| growth | 0.40 | 1.40 | -1.00 | -71.4% |" in lines
    assert "| aml | risk | 2.10 | 0.00 | +2.10 | new |" in lines
    assert "| upsell | growth | 0.00 | 0.20 | -0.20 | -100.0% |" in lines
    assert "- **Largest increases:** aml +2.10 (new)" in lines
    assert "- **Largest decreases:** fraud -1.55 (-50.0%), churn -0.80 (-66.7%), upsell -0.20 (-100.0%)" in lines
    assert lines[-1] == "_2 steps of older runs carry no recorded resources and are not priced._"
    team_text = render_markdown(team_part(digest(CURRENT, PREVIOUS), "risk"))
    assert "Spend per team" not in team_text and "team risk" in team_text.splitlines()[0]


def test_names_are_escaped_for_markdown_and_for_html():
    hostile = by_model([("m<b>|x*", "<script>alert(1)</script>", 1.0, 1.0, 0)], since=UNTIL - WEEK, until=UNTIL)
    empty = by_model([], since=UNTIL - 2 * WEEK, until=UNTIL - WEEK)
    body = digest(hostile, empty)
    markdown = render_markdown(body)
    assert r"| m\<b\>\|x\* | \<script\>alert(1)\</script\> | 1.00 | 0.00 | +1.00 | new |" in markdown
    page = render_html(body)
    assert "<script>" not in page and "m<b>" not in page
    assert "<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>" in page and "<td>m&lt;b&gt;|x*</td>" in page
    assert page.startswith("<!DOCTYPE html>") and "<th>Change %</th>" in page
    assert "<strong>Largest increases:</strong> m&lt;b&gt;|x* +1.00 (new)" in page


def test_payloads_per_format():
    body = digest(CURRENT, PREVIOUS)
    assert payload(body, "text") == {"text": render_markdown(body)}
    assert set(payload(body, "html")) == {"subject", "html", "text"}
    data = payload(body, "json")
    assert data["markdown"] == render_markdown(body) and data["html"] == render_html(body)
    with pytest.raises(UsageError, match="no digest format 'xml'"):
        payload(body, "xml")


def test_targets_are_read_from_the_digest_table_of_the_price_list():
    text = ('cpu = 0.1\n[digest]\nwebhook = "https://hooks.example/all"\nformat = "html"\n'
            '[digest.teams.growth]\nwebhook = "https://hooks.example/growth"\n'
            '[digest.teams.risk]\nwebhook = "http://127.0.0.1:9/risk"\nformat = "json"\n')
    assert parse_prices(text, source="p.toml").cpu == 0.1, "the price list accepts its [digest] table"
    import tomllib

    targets = parse_digest_targets(tomllib.loads(text)["digest"], source="p.toml")
    assert [(t.name, t.url, t.format) for t in targets.all] == [
        ("platform", "https://hooks.example/all", "html"), ("team growth", "https://hooks.example/growth", "html"),
        ("team risk", "http://127.0.0.1:9/risk", "json")]
    assert parse_digest_targets(None, source="p.toml").all == []


@pytest.mark.parametrize("table, says", [
    ("digest = 3", "digest must be a table"),
    ('[digest]\nwebhok = "https://x"', "unknown key 'webhok'"),
    ('[digest]\nwebhook = "ftp://x"', "is not an http(s) URL"),
    ('[digest]\nformat = "pdf"', "'pdf' is not a digest format"),
    ('[digest]\nteams = 1', "digest.teams must hold one table per team"),
    ('[digest.teams]\ngrowth = "https://x"', "digest.teams.growth must be a table with a webhook"),
    ('[digest.teams.growth]\nformat = "text"', "digest.teams.growth has no webhook"),
    ('[digest.teams.growth]\nwebhook = 7', "digest.teams.growth.webhook = 7 is not an http(s) URL"),
])
def test_bad_targets_are_spec_errors_that_say_where(table, says):
    import tomllib

    with pytest.raises(SpecError) as caught:
        parse_digest_targets(tomllib.loads(table)["digest"], source="p.toml")
    assert caught.value.headline == "invalid digest targets"
    assert says in caught.value.message and caught.value.message.startswith("p.toml:")


def test_each_team_receives_its_part_and_the_platform_the_whole_on_real_receivers():
    body = digest(CURRENT, PREVIOUS)
    with Receiver() as platform, Receiver() as growth, Receiver() as risk:
        deliveries = deliver([DigestTarget(url=platform.url, format="json"),
                              DigestTarget(url=growth.url, format="json", team="growth"),
                              DigestTarget(url=risk.url, format="text", team="risk")], body)
    assert [d.status for d in deliveries] == [200, 200, 200]
    (whole,), (mine,), (theirs,) = platform.received, growth.received, risk.received
    assert whole["scope"] == "platform" and [t["team"] for t in whole["teams"]] == ["risk", "growth"]
    assert mine["team"] == "growth" and mine["total"] == 0.4 and [t["team"] for t in mine["teams"]] == ["growth"]
    assert "fraud" not in mine["markdown"] and "<td>churn</td>" in mine["html"]
    assert set(theirs) == {"text"} and "| aml | risk | 2.10 |" in theirs["text"] and "churn" not in theirs["text"]
    assert NO_TEAM not in whole["markdown"]


def test_a_team_receiver_that_fails_is_reported_after_the_others_got_theirs():
    body = digest(CURRENT, PREVIOUS)
    with Receiver() as platform, Receiver(fail_first=100, status=500) as broken:
        with pytest.raises(BackendError, match=r"did not reach .* \(team risk\): HTTP 500") as caught:
            deliver([DigestTarget(url=platform.url), DigestTarget(url=broken.url, team="risk")], body,
                    backoff_s=0.01)
    assert len(platform.received) == 1 and broken.attempts == 3
    assert "1 of 2 webhooks got it" in caught.value.hint
