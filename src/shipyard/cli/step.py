"""``shipyard step run``: one step of a recorded run, in this process (see ``shipyard.pipeline.steprun``)."""

from __future__ import annotations

import json
import sys

import typer

from shipyard.cli import app

step_app = typer.Typer(help="One step of a pipeline run, on any machine that reaches the stores.",
                       no_args_is_help=True)
app.add_typer(step_app, name="step")


@step_app.command("run")
def run_command(run_id: str = typer.Argument(..., help="Run id (or a unique prefix), from `shipyard runs create`."),
                step: str = typer.Argument(..., help="The step's name, e.g. train."),
                once: bool = typer.Option(False, "--once", hidden=True,
                                          help="One attempt, no retries: the caller retries (Kubernetes executor)."),
                json_output: bool = typer.Option(False, "--json", help="Print the outcome as JSON on stdout.")) -> None:
    """Run one step: read its inputs by digest, use the cache, run, store its outputs, record it; exit 0 when it
    succeeded or came from the cache."""
    from dataclasses import asdict

    from shipyard.pipeline.steprun import run_step

    result = run_step(run_id, step, once=once, say=lambda text: print(text, file=sys.stderr, flush=True))
    if json_output:
        print(json.dumps(asdict(result), indent=2))
