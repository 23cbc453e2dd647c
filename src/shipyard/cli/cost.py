"""``shipyard cost [--team T] [--model M] [--since 7d] [--by team|model|run]`` and ``shipyard cost digest``."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING

import typer

from shipyard.cli import app
from shipyard.client.remote import remote_api

if TYPE_CHECKING:
    from shipyard.governance.cost import CostReport

GROUPINGS = ("team", "model", "run")
"""``governance.cost.GROUPINGS``, named here so that the CLI imports no store until a command runs."""

cost_app = typer.Typer(help="What runs and serving cost, by team, model or run (priced with SHIPYARD_PRICES).",
                       invoke_without_command=True)
app.add_typer(cost_app, name="cost")


def fetch(*, since: str, by: str, team: str | None, model: str | None) -> CostReport:
    """The report from the server when ``SHIPYARD_URL`` is set, else from the local stores."""
    api = remote_api()
    if api is not None:
        from shipyard.client.cost import cost_report as remote

        with api:
            return remote(api, since=since, by=by, team=team, model=model)
    from shipyard.config import load_settings
    from shipyard.governance.cost import cost_report, parse_span, require_prices, window_until_now
    from shipyard.governance.prices import load_prices
    from shipyard.serving.usage import served_requests

    settings = load_settings()
    start, until = window_until_now(parse_span(since))
    prices = require_prices(load_prices(settings))
    return cost_report(prices, since=start, until=until, by=by, team=team, model=model, settings=settings,
                       requests=served_requests(settings.prediction_log_root, since=start, until=until))


def _check_by(by: str) -> str:
    if by not in GROUPINGS:
        raise typer.BadParameter(f"{by!r}: group by one of {', '.join(GROUPINGS)}")
    return by


@cost_app.callback()
def cost_command(ctx: typer.Context,
                 team: str | None = typer.Option(None, "--team", help="Only this team's models."),
                 model: str | None = typer.Option(None, "--model", help="Only this model."),
                 since: str = typer.Option("7d", "--since", help="How far back: 30m, 12h, 7d, 2w."),
                 by: str = typer.Option("team", "--by", callback=_check_by, help="team, model or run."),
                 json_output: bool = typer.Option(False, "--json")) -> None:
    """Cost of the pipeline steps and served requests in the window, added up by team, model or run."""
    if ctx.invoked_subcommand is not None:
        return
    report = fetch(since=since, by=by, team=team, model=model)
    if json_output:
        print(json.dumps(asdict(report), indent=2, default=str))
        return
    print(render(report))


def render(report: CostReport) -> str:
    head = (f"cost {report.since:%Y-%m-%d %H:%M} to {report.until:%Y-%m-%d %H:%M} UTC, by {report.by}: "
            f"{report.total:,.4f} {report.currency}")
    lines = [head]
    if not report.lines:
        lines.append("  nothing ran or was served in the window")
    width = max((len(line.key) for line in report.lines), default=0)
    for line in report.lines:
        usage = [f"{line.compute_hours:,.3f} compute-h"] if line.compute_hours else []
        usage += [f"{line.requests:,} requests"] if line.requests else []
        owner = f"  team {line.team}" if report.by != "team" and line.team else ""
        lines.append(f"  {line.key:<{width}}  {line.cost:>12,.4f}  {', '.join(usage) or '-'}{owner}")
    if report.unpriced_steps:
        lines.append(f"  {report.unpriced_steps} steps of runs recorded without their resources are not priced")
    return "\n".join(lines)


@cost_app.command("digest")
def digest_command(webhook: list[str] = typer.Option(..., "--webhook", help="URL to post to (repeatable)."),
                   format: str = typer.Option("text", "--format",
                                              help="text: {\"text\": …} as Slack-compatible webhooks take it; "
                                                   "json: the figures."),
                   since: str = typer.Option("7d", "--since", help="The digest's window (a week by default).")) -> None:
    """Post per-team totals and each team's dearest models over the last week to webhooks."""
    from shipyard.governance.cost_digest import check_targets, digest, post

    check_targets(list(webhook), format)
    body = digest(fetch(since=since, by="model", team=None, model=None))
    deliveries = post(list(webhook), body, format=format)
    print(f"digest of {body['total']:,.4f} {body['currency']} over {len(body['teams'])} teams posted to "
          f"{len(deliveries)} webhook{'s' if len(deliveries) != 1 else ''}")
