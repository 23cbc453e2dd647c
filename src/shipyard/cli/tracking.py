"""``shipyard tracking pending | sync``: runs logged while the MLflow server was out."""

from __future__ import annotations

import json
from dataclasses import asdict

import typer

from shipyard.cli import app

tracking_app = typer.Typer(help="Runs logged to the local fallback store while the MLflow server was out.",
                           no_args_is_help=True)
app.add_typer(tracking_app, name="tracking")


@tracking_app.command("pending")
def pending_command(json_output: bool = typer.Option(False, "--json")) -> None:
    """The runs whose tracking waits for `shipyard tracking sync`."""
    from shipyard.pipeline.tracking_sync import pending_runs
    from shipyard.tracking.outage import SYNC_COMMAND

    records = pending_runs()
    if json_output:
        print(json.dumps([{"run_id": r.id, "pipeline": r.pipeline, "model": r.model_name or
                           (r.result or {}).get("registration", {}).get("model_name"),
                           "fallback_run_id": (r.result or {}).get("registration", {}).get("mlflow_run_id"),
                           "finished_at": r.finished_at} for r in records], indent=2, default=str))
        return
    if not records:
        print("no runs wait for tracking sync")
        return
    for record in records:
        registration = (record.result or {}).get("registration") or {}
        print(f"run {record.id} of {record.pipeline}: {registration.get('model_name')} waits for registration "
              f"(fallback MLflow run {registration.get('mlflow_run_id')})")
    print(f"sync them with: {SYNC_COMMAND}")


@tracking_app.command("sync")
def sync_command(json_output: bool = typer.Option(False, "--json")) -> None:
    """Replay the runs logged while MLflow was out into the tracking server and register their versions
    (exactly once: a second sync creates nothing)."""
    from shipyard.pipeline.tracking_sync import sync_pending

    synced = sync_pending()
    if json_output:
        print(json.dumps([asdict(run) for run in synced], indent=2))
        return
    if not synced:
        print("nothing to sync: no run waits for tracking sync")
    for run in synced:
        print(f"synced run {run.run_id}: MLflow run {run.mlflow_run_id} (from fallback run {run.fallback_run_id}), "
              f"{run.model} version {run.version} registered as a candidate")
