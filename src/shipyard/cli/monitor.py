"""``shipyard monitor MODEL``, ``shipyard monitor history MODEL``, ``shipyard monitor show REPORT_ID``."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path

import typer

from shipyard.cli import app
from shipyard.client.remote import remote_api, server_url
from shipyard.errors import DriftDetectedError, UsageError

_COLORS = {"ok": "green", "warning": "yellow", "critical": "red"}


def _when(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option} {text}: not a time; write ISO 8601, e.g. 2026-11-24T09:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _print_report(run, html_path: Path | None) -> None:
    from rich.console import Console

    report = run.report
    console = Console()
    console.print(f"drift of {run.model} version {run.version}: [{_COLORS[run.severity]}]{run.severity}[/] "
                  f"({report['rows']:,} rows, {report['window']['start'][:19]} → {report['window']['end'][:19]} UTC; "
                  f"{len(report['drifted'])}/{len(report['features'])} features drifted; report {run.id})",
                  soft_wrap=True)
    console.print(feature_table(report))
    for name in report.get("missing_columns", []):
        console.print(f"[yellow]column {name} is missing from the prediction log[/]")
    for skipped in report.get("skipped_files", []):
        console.print(f"[yellow]skipped unreadable file {skipped['file']}: {skipped['reason']}[/]")
    if html_path is not None:
        from shipyard.monitoring.html import render_html

        html_path.write_text(render_html(report))
        console.print(f"HTML report: {html_path.resolve()}")


def feature_table(report: dict):
    """The report's features (and predictions), one row each, as a Rich table."""
    from rich.table import Table

    table = Table()
    for column in ("feature", "severity", "method", "PSI", "distance", "p-value", "nulls", "unseen/out of range"):
        table.add_column(column)
    judged = list(report["features"].items())
    if report.get("prediction"):
        judged.insert(0, ("(prediction)", report["prediction"]))
    for name, r in judged:
        distance = r.get("wasserstein", r.get("jensen_shannon"))
        outside = r.get("unseen_share", r.get("out_of_range"))
        table.add_row(name, f"[{_COLORS[r['severity']]}]{r['severity']}[/]", r.get("method", ""),
                      *(f"{v:.4f}" if isinstance(v, float) else "—" for v in (r.get("psi"), distance,
                                                                                r.get("p_value"))),
                      f"{r['null_rate']:.1%}", f"{outside:.1%}" if isinstance(outside, float) else "—")
    return table


def _seconds(text: str | None, option: str) -> float | None:
    from shipyard.spec.durations import parse_duration

    try:
        return parse_duration(text) if text else None
    except ValueError as exc:
        raise UsageError(f"{option} {text}: {exc}") from None


def _watch(models: list[str], *, every: str, window: str | None, iterations: int | None) -> None:
    from shipyard.monitoring.watch import watch

    def show(check) -> None:
        if check.error:
            print(f"{check.model}: not judged: {check.error}")
            return
        run = check.run
        print(f"{run.created_at:%Y-%m-%d %H:%M:%S}  {run.model} v{run.version}: {run.severity} "
              f"({run.rows:,} rows; drifted: {', '.join(run.report['drifted'][:6]) or '—'}; report {run.id})")
        for alert in check.alerts:
            print(f"  alert {alert.previous_severity} → {alert.severity} to {alert.target}: {alert.status}"
                  + (f" ({alert.last_error})" if alert.last_error else ""))
        if check.retrain:
            r = check.retrain
            print(f"  retrain: {r['outcome']}" + (f", run {r['pipeline_run_id']}" if r.get("pipeline_run_id") else "")
                  + (f", version {r['new_version']}: {r.get('gate')}" if r.get("new_version") else "")
                  + (f" ({r['reason']})" if r.get("reason") else ""))

    watch(models, every_s=_seconds(every, "--every"), iterations=iterations,
          window_s=_seconds(window, "--window"), on_check=show)


def _history(model: str, limit: int):
    api = remote_api()
    if api is None:
        from shipyard.monitoring.runs import history, require_model

        require_model(model)
        return [run.summary() for run in history(model, limit=limit)]
    from shipyard.client import monitoring as remote

    with api:
        return remote.history(api, model, limit=limit)


def _print_history(model: str, reports, as_json: bool) -> None:
    if as_json:
        print(json.dumps([{"id": r.id, "version": r.version, "severity": r.severity, "rows": r.rows,
                           "window_start": r.window_start.isoformat(), "window_end": r.window_end.isoformat(),
                           "drifted": list(r.drifted), "created_at": r.created_at.isoformat()}
                          for r in reports], indent=2))
        return
    if not reports:
        print(f"no drift reports for '{model}' yet; compute one with: shipyard monitor {model}")
    for r in reports:
        print(f"{r.created_at:%Y-%m-%d %H:%M:%S}  {r.id}  v{r.version:<4} {r.severity:<8} {r.rows:>9,} rows  "
              f"drifted: {', '.join(r.drifted[:6]) or '—'}")


def _report(report_id: str):
    api = remote_api()
    if api is None:
        from shipyard.monitoring.runs import get_report

        return get_report(report_id)
    from shipyard.client import monitoring as remote

    with api:
        return remote.get_report(api, report_id)


def _compute(model: str, *, version: str | None, window_s: float | None, since: datetime | None,
             until: datetime | None):
    api = remote_api()
    if api is None:
        from shipyard.monitoring.runs import compute_drift

        return compute_drift(model, version=version, window_s=window_s, since=since, until=until)
    from shipyard.client import monitoring as remote

    with api:
        return remote.compute_drift(api, model, version=version, window_s=window_s, since=since, until=until)


@app.command("monitor")
def monitor_command(
    target: list[str] = typer.Argument(..., help="MODEL, or: history MODEL, or: show REPORT_ID."),
    version: str = typer.Option(None, "--version", help="Judge this version's traffic (default: the stable arm)."),
    window: str = typer.Option(None, "--window", help="How far back from now (or --until): '1h', '30m', seconds."),
    since: str = typer.Option(None, "--since", help="Window start, ISO 8601 (UTC unless an offset is given)."),
    until: str = typer.Option(None, "--until", help="Window end, ISO 8601 (default: now)."),
    html: Path = typer.Option(None, "--html", help="Also write the self-contained HTML report here."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    fail_on: str = typer.Option(None, "--fail-on", help="Exit 11 when the severity reaches warning or critical "
                                                         "(too little traffic to judge exits 12)."),
    limit: int = typer.Option(20, "--limit", min=1, help="history: how many reports."),
    watch: bool = typer.Option(False, "--watch", help="Keep checking: alert on severity changes, retrain when "
                                                       "critical and the spec says retrain: auto. Runs in this "
                                                       "process against this machine's store, also with "
                                                       "SHIPYARD_URL set."),
    every: str = typer.Option("5m", "--every", help="--watch: time between checks."),
    iterations: int = typer.Option(None, "--iterations", min=1, help="--watch: stop after this many rounds."),
) -> None:
    """Drift of a model's live traffic against its training data (reads the prediction log)."""
    if fail_on not in (None, "warning", "critical"):
        raise UsageError(f"--fail-on {fail_on}: use warning or critical")
    if watch:
        if server_url() is not None:
            print("note: --watch runs in this process against this machine's store, not through SHIPYARD_URL",
                  file=sys.stderr)
        _watch(target, every=every, window=window, iterations=iterations)
        return
    if target[0] == "history":
        if len(target) != 2:
            raise UsageError("write: shipyard monitor history MODEL")
        _print_history(target[1], _history(target[1], limit), as_json)
        return
    if target[0] == "show":
        if len(target) != 2:
            raise UsageError("write: shipyard monitor show REPORT_ID")
        run = _report(target[1])
    else:
        if len(target) != 1:
            raise UsageError(f"unexpected arguments: {' '.join(target[1:])}",
                            hint="shipyard monitor MODEL | history MODEL | show REPORT_ID")
        run = _compute(target[0], version=version, window_s=_seconds(window, "--window"),
                       since=_when(since, "--since"), until=_when(until, "--until"))
    if as_json:
        print(json.dumps({"id": run.id, **run.report}, indent=2, default=str))
        if html is not None:
            from shipyard.monitoring.html import render_html

            html.write_text(render_html(run.report))
    else:
        _print_report(run, html)
    order = ("ok", "warning", "critical")
    if fail_on and order.index(run.severity) >= order.index(fail_on):
        raise DriftDetectedError(f"drift severity of {run.model} version {run.version} is {run.severity} "
                                 f"(--fail-on {fail_on}; report {run.id})")

