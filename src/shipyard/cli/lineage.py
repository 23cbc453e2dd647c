"""``shipyard lineage MODEL VERSION``."""

from __future__ import annotations

import json

import typer

from shipyard.cli import app


@app.command("lineage")
def lineage_command(model: str = typer.Argument(..., help="Registered model name."),
                    version: str = typer.Argument(..., help="Model version."),
                    json_output: bool = typer.Option(False, "--json")) -> None:
    """Trace a model version back to the exact bytes of its data."""
    from rich.console import Console
    from rich.tree import Tree

    from shipyard.client.remote import remote_api

    api = remote_api()
    if api is None:
        from shipyard.registry.lineage import model_lineage

        info = model_lineage(model, version)
    else:
        from shipyard.client import models as remote

        with api:
            info = remote.lineage(api, model, version)
    if json_output:
        print(json.dumps(info, indent=2, default=str))
        return
    source = info["data_source"]
    where = source.get("path") or source.get("query")
    short = lambda d: (d or "—")[:16]  # noqa: E731
    tree = Tree(f"[bold]data source[/] {source['type']}: {where}  sha256 {short(source.get('digest'))}")
    ingested = tree.add(f"ingested frame  sha256 {short(info['ingested']['digest'])}")
    val = info["validation"]
    report = ingested.add(f"validation report  sha256 {short(val['digest'])}  passed={val['passed']}  "
                          f"rows {val['rows_in']} → dropped {val['rows_dropped']}")
    split = report.add(f"split  train {short(info['split']['train_digest'])}  "
                       f"holdout {short(info['split']['holdout_digest'])}")
    run = info["pipeline_run"]
    run_node = split.add(f"[bold]pipeline run[/] {run['id']} ({run['status']})  spec sha256 {short(run['spec_digest'])}"
                         f"  MLflow run {run['mlflow_run_id']}")
    m = info["model"]
    run_node.add(f"[bold green]model version[/] {m['name']} v{m['version']}  sha256 {short(m['sha256'])}  {m['uri']}")
    Console().print(tree, highlight=False)
