"""``shipyard runs list | show | queue | create | finish``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

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

    records = _runs(pipeline, limit)
    places = _queue_positions(records)
    if json_output:
        print(json.dumps([_run_dict(r, steps=False, position=places.get(r.id)) for r in records], indent=2,
                         default=str))
        return
    if not records:
        print("no runs yet; start one with: shipyard run PIPELINE_YAML")
        return
    table = Table()
    for column in ("run", "pipeline", "status", "started", "duration", "model"):
        table.add_column(column)
    for r in records:
        model = f"{r.model_name} v{r.model_version}" if r.model_name else ""
        status = f"queued #{places[r.id]}" if r.id in places else r.shown_status
        table.add_row(r.id, r.pipeline, status, _when(r.started_at or r.created_at), _duration(r), model)
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

    record = _run(run_id)
    position = _queue_positions([record]).get(record.id)
    if json_output:
        print(json.dumps(_run_dict(record, steps=True, position=position), indent=2, default=str))
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
    airflow = (record.options or {}).get("airflow")
    if airflow:
        console.print(f"Airflow DAG run: {airflow['dag_id']} / {airflow['dag_run_id']}", highlight=False)
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
    elif position is not None:
        console.print(f"queued at position {position} in its team's queue, waiting in {record.holder.describe()}; "
                      "`shipyard runs queue` shows why", highlight=False)
    if record.resumable:
        console.print(f"resume with: {_resume_command(record)}", highlight=False)


@runs_app.command("create")
def create_command(pipeline: Path = typer.Argument(..., help="The pipeline YAML."),
                   no_cache: bool = typer.Option(False, "--no-cache", help="Its steps ignore cached results.")) -> None:
    """Record a run with every step pending and print its id, for `shipyard step run RUN_ID STEP` anywhere."""
    from shipyard.pipeline.steprun import create_run

    print(create_run(pipeline, no_cache=no_cache))


@runs_app.command("finish")
def finish_command(run_id: str = typer.Argument(..., help="Run id or a unique prefix of it."),
                   json_output: bool = typer.Option(False, "--json")) -> None:
    """Record the end of a run created with `runs create`: succeeded when every step is done, else failed (exit 7)."""
    from shipyard.pipeline.steprun import finish_run

    record = finish_run(run_id)
    if json_output:
        print(json.dumps(_run_dict(record, steps=True), indent=2, default=str))
    else:
        print(f"run {record.id} {record.status}")
        if record.error:
            print(f"error: {record.error}", file=sys.stderr)
    if record.status != "succeeded":
        raise typer.Exit(7)


@runs_app.command("queue")
def queue_command(team: str = typer.Option(None, "--team", help="Only this team's queue."),
                  json_output: bool = typer.Option(False, "--json")) -> None:
    """Runs waiting for their team's quota, by team, in the order they will be admitted."""
    from dataclasses import asdict

    from rich.console import Console
    from rich.table import Table

    entries = _queue(team)
    if json_output:
        print(json.dumps([asdict(e) for e in entries], indent=2, default=str))
        return
    if not entries:
        where = f" in team {team}'s queue" if team else ""
        print(f"no runs are waiting{where}")
        return
    table = Table()
    for column in ("team", "position", "run", "pipeline", "waiting since", "reason"):
        table.add_column(column)
    for e in entries:
        table.add_row(e.team, str(e.position), e.run_id, e.pipeline, _when(e.enqueued_at), e.reason or "")
    Console().print(table)


def _queue(team: str | None) -> list:
    from shipyard.client.remote import remote_api

    api = remote_api()
    if api is None:
        from shipyard.governance.admission import queue

        return queue(team=team)
    from shipyard.client import runs as remote

    with api:
        return remote.queue(api, team=team)


def _queue_positions(records) -> dict[str, int]:
    """The queue position of each queued run among ``records``."""
    queued = {r.id for r in records if r.shown_status == "queued"}
    if not queued:
        return {}
    return {e.run_id: e.position for e in _queue(None) if e.run_id in queued}


def _runs(pipeline: str | None, limit: int) -> list:
    from shipyard.client.remote import remote_api

    api = remote_api()
    if api is None:
        from shipyard.store import runs as store

        return store.list_runs(pipeline=pipeline, limit=limit)
    from shipyard.client import runs as remote

    with api:
        return remote.list_runs(api, pipeline=pipeline, limit=limit)


def _run(run_id: str):
    from shipyard.client.remote import remote_api

    api = remote_api()
    if api is None:
        from shipyard.store import runs as store

        return store.get_run(run_id)
    from shipyard.client import runs as remote

    with api:
        return remote.get_run(api, run_id)


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


def _run_dict(record, *, steps: bool, position: int | None = None) -> dict:
    from dataclasses import asdict

    data = asdict(record)
    data["status"] = record.shown_status
    data["queue_position"] = position
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
