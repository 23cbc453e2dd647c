"""``shipyard drift REFERENCE CURRENT``: drift between two data sets, no model needed."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from shipyard.cli import app
from shipyard.errors import DriftDetectedError, UsageError

_COLORS = {"ok": "green", "warning": "yellow", "critical": "red"}
_ORDER = ("ok", "warning", "critical")


@app.command("drift")
def drift_command(
    reference: str = typer.Argument(..., help="The data to compare against: a .parquet/.csv file, glob or folder, "
                                              "duckdb:QUERY or sql:QUERY."),
    current: str = typer.Argument(..., help="The data to judge, written the same way."),
    columns: list[str] = typer.Option(None, "--columns", help="Compare only these columns (repeat the option or "
                                                              "separate names with commas; default: all in common)."),
    database: str = typer.Option(None, "--database", help="The SQLAlchemy URL sql: queries run against."),
    duckdb_database: str = typer.Option(None, "--duckdb-database", help="A DuckDB file for duckdb: queries "
                                                                        "(default: an in-memory DuckDB)."),
    html: Path = typer.Option(None, "--html", help="Also write the self-contained HTML report here."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    fail_on: str = typer.Option(None, "--fail-on", help="Exit 11 when the severity reaches warning or critical."),
) -> None:
    """Drift of CURRENT against REFERENCE, column by column: the statistics and severities of `monitor`."""
    from shipyard.monitoring.datasets import data_drift

    if fail_on not in (None, *_ORDER[1:]):
        raise UsageError(f"--fail-on {fail_on}: use warning or critical",
                         hint="--fail-on warning exits 11 on any drift, --fail-on critical only on critical drift")
    names = [name.strip() for option in columns or [] for name in option.split(",") if name.strip()] or None
    if columns and not names:
        raise UsageError("--columns names no column", hint="e.g. --columns age,income")
    report = data_drift(reference, current, columns=names, database=database, duckdb_database=duckdb_database)
    if html is not None:
        from shipyard.monitoring.html import render_html

        html.write_text(render_html(report))
    if as_json:
        print(json.dumps(report, indent=2, default=str))
    else:
        _print_report(report, html)
    severity = report["severity"]
    if fail_on and _ORDER.index(severity) >= _ORDER.index(fail_on):
        raise DriftDetectedError(f"drift severity of {current} against {reference} is {severity} "
                                 f"(--fail-on {fail_on}); drifted: {', '.join(report['drifted'][:8]) or '—'}")


def _print_report(report: dict, html_path: Path | None) -> None:
    from rich.console import Console

    from shipyard.cli.monitor import feature_table

    console = Console()
    ref, cur, severity = report["reference"], report["current"], report["severity"]
    console.print(f"drift of {cur['source']} against {ref['source']}: [{_COLORS[severity]}]{severity}[/] "
                  f"({cur['rows']:,} rows against {ref['rows']:,}; {len(report['drifted'])}/{len(report['features'])} "
                  "features drifted)", soft_wrap=True, markup=True, highlight=False)
    console.print(feature_table(report))
    for name in report["missing_columns"]:
        console.print(f"[yellow]column {name} is missing from the current data[/]")
    for skipped in report["skipped_columns"]:
        console.print(f"[yellow]column {skipped['column']} not compared: {skipped['reason']}[/]")
    if html_path is not None:
        console.print(f"HTML report: {html_path.resolve()}")
