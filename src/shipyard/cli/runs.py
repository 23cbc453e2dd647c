"""``shipyard runs list | show``."""

from __future__ import annotations

import json

import typer

from shipyard.cli import app

runs_app = typer.Typer(help="Pipeline runs recorded in the metadata store.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")


@runs_app.command("list")
def list_command(pipeline: str = typer.Option(None, "--pipeline", help="Only runs of this pipeline."),
                 limit: int = typer.Option(20, "--limit", min=1),
                 json_output: bool = typer.Option(False, "--json")) -> None:
    """The most recent runs, newest first."""
    from rich.console import Console
    from rich.table import Table

    from shipyard.store import runs as store

    records = store.list_runs(pipeline=pipeline, limit=limit)
    if json_output:
        print(json.dumps([_run_dict(r, steps=False) for r in records], indent=2, default=str))
        return
    if not records:
        print("no runs yet; start one with: shipyard run PIPELINE_YAML")
        return
    table = Table()
    for column in ("run", "pipeline", "status", "started", "duration", "model"):
        table.add_column(column)
    for r in records:
        model = f"{r.model_name} v{r.model_version}" if r.model_name else ""
        table.add_row(r.id, r.pipeline, r.shown_status, _when(r.started_at or r.created_at), _duration(r), model)
    Console().print(table)
    for r in records:
        if r.shown_status == "interrupted":
            print(f"run {r.id} was interrupted (its process is gone); resume with: {_resume_command(r)}")


@runs_app.command("show")
def show_command(run_id: str = typer.Argument(..., help="Run id or a unique prefix of it."),
                 json_output: bool = typer.Option(False, "--json")) -> None:
    """Steps, durations, cache hits, metrics and artifacts of one run."""
    from rich.console import Console
    from rich.table import Table

    from shipyard.store import runs as store

    record = store.get_run(run_id)
    if json_output:
        print(json.dumps(_run_dict(record, steps=True), indent=2, default=str))
        return
    console = Console()
    console.print(f"[bold]run {record.id}[/] of [bold]{record.pipeline}[/]: {record.shown_status}, "
                  f"{_duration(record)}; spec {record.spec_path or '(stored)'} sha256 {record.spec_digest[:12]}")
    table = Table()
    for column in ("step", "state", "time", "cache", "attempts", "outputs"):
        table.add_column(column)
    for step in record.steps:
        outputs = ", ".join(f"{name}={ref['digest'][:12]}" for name, ref in (step.outputs or {}).items())
        table.add_row(step.name, step.state, f"{step.duration_s:.2f}s" if step.duration_s is not None else "",
                      "hit" if step.cache_hit else "", str(step.attempts), outputs)
    console.print(table)
    result = record.result or {}
    if result.get("metrics"):
        console.print("metrics: " + ", ".join(f"{k}={v:.4f}" for k, v in result["metrics"].items() if v is not None))
    if record.model_name:
        console.print(f"model: {record.model_name} version {record.model_version}, MLflow run {record.mlflow_run_id}")
    _print_tracking(console, result)
    if record.error:
        console.print(f"[red]error:[/] {record.error}", markup=True, highlight=False)
    if record.shown_status == "interrupted":
        console.print(f"its process is gone ({record.holder.describe()}); the run stopped without finishing",
                      highlight=False)
    elif record.shown_status == "running":
        console.print(f"running in {record.holder.describe()}", highlight=False)
    if record.resumable:
        console.print(f"resume with: {_resume_command(record)}", highlight=False)


def _print_tracking(console, result: dict) -> None:
    registration = result.get("registration") or {}
    if result.get("tracking") == "pending-sync":
        console.print(f"[yellow]tracking: pending-sync[/]: logged to the local fallback store (MLflow run "
                      f"{registration.get('mlflow_run_id')}) while the MLflow server was out; "
                      f"{registration.get('model_name')} is registered when you run: shipyard tracking sync",
                      highlight=False)
    elif result.get("tracking") == "synced":
        console.print(f"tracking: synced from fallback MLflow run {registration.get('fallback_run_id')}",
                      highlight=False)


def _resume_command(record) -> str:
    from shipyard.pipeline.state import resume_command

    return resume_command(record.id, spec_error=(record.result or {}).get("error_kind") == "SpecError",
                          spec_path=record.spec_path)


def _run_dict(record, *, steps: bool) -> dict:
    from dataclasses import asdict

    data = asdict(record)
    data["status"] = record.shown_status
    data["resume_command"] = _resume_command(record) if record.resumable else None
    data.pop("spec_text", None)
    if not steps:
        data.pop("steps", None)
    return data


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _duration(record) -> str:
    if record.started_at and record.finished_at:
        return f"{(record.finished_at - record.started_at).total_seconds():.1f}s"
    return ""
