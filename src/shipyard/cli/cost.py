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
    from shipyard.serving.serving_time import served_time
    from shipyard.serving.usage import served_requests

    settings = load_settings()
    start, until = window_until_now(parse_span(since))
    prices = require_prices(load_prices(settings))
    return cost_report(prices, since=start, until=until, by=by, team=team, model=model, settings=settings,
                       requests=served_requests(settings.prediction_log_root, since=start, until=until),
                       serving_time=served_time(settings.prediction_log_root, since=start, until=until))


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
        usage += [f"{line.serving_hours:,.3f} gateway-h"] if line.serving_hours else []
        usage += [f"{line.requests:,} requests"] if line.requests else []
        usage += [f"{line.per_1000_predictions:,.4f} per 1k predictions"] if line.per_1000_predictions else []
        owner = f"  team {line.team}" if report.by != "team" and line.team else ""
        lines.append(f"  {line.key:<{width}}  {line.cost:>12,.4f}  {', '.join(usage) or '-'}{owner}")
    if report.unpriced_steps:
        lines.append(f"  {report.unpriced_steps} steps of runs recorded without their resources are not priced")
    return "\n".join(lines)


@cost_app.command("digest")
def digest_command(webhook: list[str] = typer.Option(None, "--webhook",
                                                     help="URL to post the whole digest to (repeatable); without "
                                                          "it, the price list's \\[digest] targets: the platform's "
                                                          "webhook the whole, each team's its own part."),
                   format: str | None = typer.Option(None, "--format",
                                                     help="text: {\"text\": markdown} as chat webhooks take it; "
                                                          "html: {subject, html, text} for mail; json: the figures "
                                                          "and both renderings. Default: text, or each target's."),
                   since: str = typer.Option("7d", "--since",
                                             help="The digest's window (a week by default), compared with the "
                                                  "same span before it.")) -> None:
    """Post spend per team and model, its change from the window before and the top movers to webhooks."""
    from dataclasses import replace

    from shipyard.config import load_settings
    from shipyard.governance.cost import parse_span
    from shipyard.governance.cost_digest import check_targets, deliver, digest, earlier
    from shipyard.governance.digest_targets import DigestTarget, load_digest_targets

    chosen = format or "text"
    if webhook:
        check_targets(list(webhook), chosen)
        targets = [DigestTarget(url=url, format=chosen) for url in webhook]
    else:
        targets = load_digest_targets(load_settings()).all
        check_targets([target.url for target in targets], chosen)
        if format is not None:
            targets = [replace(target, format=format) for target in targets]
    parse_span(since)
    current = fetch(since=since, by="model", team=None, model=None)
    previous = earlier(fetch(since=_doubled(since), by="model", team=None, model=None), current)
    body = digest(current, previous)
    deliveries = deliver(targets, body)
    print(f"digest of {body['total']:,.4f} {body['currency']} over {len(body['teams'])} teams posted to "
          f"{len(deliveries)} webhook{'s' if len(deliveries) != 1 else ''} "
          f"({', '.join(d.target.name for d in deliveries)})")
    covered = {target.team for target in targets}
    if None not in covered:
        left = sorted(row["team"] for row in body["teams"] if row["team"] not in covered)
        if left:
            print(f"no webhook declared for: {', '.join(left)}")


def _doubled(since: str) -> str:
    """The span twice as long, in the same unit: the current window and the one before it."""
    from shipyard.errors import UsageError

    amount, unit = int(since.strip()[:-1]), since.strip()[-1]
    if amount * 2 > 99999:
        raise UsageError(f"--since {since!r} is too long to compare with the span before it",
                         hint="give a span of at most 49999 units, e.g. 7d")
    return f"{amount * 2}{unit}"
