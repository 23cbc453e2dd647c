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
                plan_trials: bool = typer.Option(False, "--plan-trials",
                                                 help="A sweep step: draw its trials' parameters and print their "
                                                      "indices as JSON; each then runs with --trial."),
                trial: int = typer.Option(None, "--trial", min=0,
                                          help="A sweep step: run only this planned trial; a plain run of the "
                                               "step then gathers the trials and records the best."),
                json_output: bool = typer.Option(False, "--json", help="Print the outcome as JSON on stdout.")) -> None:
    """Run one step: read its inputs by digest, use the cache, run, store its outputs, record it; exit 0 when it
    succeeded or came from the cache. SIGTERM gives the step the grace period to save its checkpoint; it is
    then recorded as preempted (exit 130) and the next run of the step resumes it."""
    from dataclasses import asdict

    from shipyard.errors import UsageError
    from shipyard.pipeline.steprun import run_step

    if plan_trials and trial is not None:
        raise UsageError("--plan-trials and --trial are separate tasks; give one of them")
    result = run_step(run_id, step, once=once, plan_trials=plan_trials, trial=trial,
                      say=lambda text: print(text, file=sys.stderr, flush=True))
    if json_output:
        print(json.dumps(asdict(result), indent=2))
    elif plan_trials:
        print(json.dumps(list(result.trials)))
