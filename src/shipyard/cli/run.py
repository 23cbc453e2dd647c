"""``shipyard run``: a pipeline YAML to a registered model version."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
from pathlib import Path

import typer

from shipyard.cli import app, imports_for_the_process
from shipyard.cli.run_outcome import print_deployment, print_pending_sync, refuse_rejected
from shipyard.errors import ShipyardError


@app.command("run")
def run_command(
    pipeline: Path = typer.Argument(None, help="The pipeline YAML.", show_default=False),
    resume: str = typer.Option(None, "--resume", metavar="RUN_ID", help="Continue a failed or interrupted run."),
    spec: Path = typer.Option(None, "--spec", metavar="FILE",
                              help="With --resume: continue with this (fixed) pipeline YAML instead of the spec the "
                                   "run started with; completed steps it does not change are kept."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Run every step, ignoring cached results."),
    from_step: str = typer.Option(None, "--from", metavar="STEP", help="Re-run this step and everything after it."),
    executor: str = typer.Option("local", "--executor", metavar="NAME",
                                 help="Where the steps run: local (worker processes here) or kubernetes (one Job "
                                      "per step; needs shipyard[kubernetes] and a cluster)."),
    json_output: bool = typer.Option(False, "--json", help="Print the result as JSON on stdout."),
    no_deploy: bool = typer.Option(False, "--no-deploy", help="Gate the new version but do not start the rollout "
                                                              "its deployment: section describes (e.g. in CI)."),
    run_id: str = typer.Option(None, "--run-id", hidden=True,
                               help="The id of the new run (the server chooses it to answer before the run starts)."),
    failure_file: Path = typer.Option(None, "--failure-file", hidden=True,
                                      help="Where to write an error that ends the command before the run is "
                                           "recorded, for the server that started it."),
) -> None:
    """Run a pipeline: ingest, validate, split, features, train (+sweep), evaluate, register, and your own
    steps; a pipeline of only `steps:` runs those and registers nothing."""
    from shipyard.errors import UsageError

    with imports_for_the_process():
        from shipyard.pipeline.api import run
        from shipyard.pipeline.api import resume as resume_run
        from shipyard.pipeline.progress import default_reporter
        from shipyard.pipeline.runner import RunOptions

    if (pipeline is None) == (resume is None):
        raise UsageError("give either a pipeline YAML or --resume RUN_ID",
                         hint="shipyard run pipeline.yaml  |  shipyard run --resume RUN_ID")
    if spec is not None and resume is None:
        raise UsageError("--spec goes with --resume RUN_ID; to run a pipeline YAML, give it as the argument",
                         hint="shipyard run pipeline.yaml  |  shipyard run --resume RUN_ID --spec pipeline.yaml")
    if run_id is not None and resume is not None:
        raise UsageError("--run-id names a new run; a resumed run keeps its id")
    from shipyard.pipeline.executor import executor_class

    executor_class(executor)  # an unknown name is a usage error before anything runs
    options = RunOptions(no_cache=no_cache, from_step=from_step, executor=executor)
    reporter = default_reporter(json_output)
    from shipyard.client.remote import remote_api

    api = remote_api()
    if api is not None and executor != "local":
        raise UsageError("--executor chooses where an in-process run puts its steps; through a server, the server "
                         "runs them", hint="unset SHIPYARD_URL to run with --executor here")
    if api is not None:
        with api:
            result = _run_through(api, pipeline, resume=resume, spec=spec, run_id=run_id, no_cache=no_cache,
                                  from_step=from_step, no_deploy=no_deploy, reporter=reporter)
    else:
        try:
            with _acting_for_whoever_started_it(run_id or resume):
                if resume:
                    result = resume_run(resume, spec=spec, options=options, reporter=reporter, notice=_notice)
                else:
                    result = run(_target(pipeline, no_deploy), options=options, reporter=reporter, run_id=run_id,
                                 notice=lambda text: print(text, file=sys.stderr, flush=True))
        except ShipyardError as exc:
            if failure_file is not None:
                from shipyard.pipeline.background import write_failure

                write_failure(failure_file, exc)
            raise
    if json_output:
        print(json.dumps(result.to_dict(), indent=2, default=str))
    else:
        _print_summary(result)
        print_deployment(result, no_deploy=no_deploy)
    if result.status != "succeeded":
        raise typer.Exit(result.exit_code or 1)
    refuse_rejected(result)


def _run_through(api, pipeline: Path | None, *, resume: str | None, spec: Path | None, run_id: str | None,
                 no_cache: bool, from_step: str | None, no_deploy: bool, reporter):
    """Start (or resume) the run on the server and follow it there, reporting as an in-process run does."""
    from shipyard.client import runs as remote
    from shipyard.errors import UsageError
    from shipyard.spec.loader import load_spec

    if run_id is not None:
        raise UsageError("--run-id names a run the server starts itself; it is not for a client",
                         hint="leave it out: the server picks the run's id")
    if resume:
        started = remote.resume_run(api, resume, spec=load_spec(spec) if spec is not None else None,
                                    no_cache=no_cache, from_step=from_step)
    else:
        started = remote.start_run(api, load_spec(pipeline), no_cache=no_cache, no_deploy=no_deploy,
                                   from_step=from_step)
    return remote.follow_run(api, started, reporter)


def _acting_for_whoever_started_it(run_id: str | None):
    """As the identity the server handed down when it started this run; else as the local identity."""
    from shipyard.governance.identity import acting_as
    from shipyard.pipeline.background import handed_down_identity

    identity = handed_down_identity(run_id)
    return acting_as(identity) if identity is not None else contextlib.nullcontext()


def _target(pipeline: Path, no_deploy: bool):
    """The pipeline to run: the file, or its spec without the deployment section (``--no-deploy``)."""
    if not no_deploy:
        return pipeline
    from shipyard.spec.loader import load_spec

    loaded = load_spec(pipeline)
    return dataclasses.replace(loaded, spec=loaded.spec.model_copy(update={"deployment": None}))


def _notice(text: str) -> None:
    print(f"note: {text}", file=sys.stderr)


def _print_summary(result) -> None:
    out = sys.stdout
    hits = result.cache_hits
    print(f"run {result.run_id} {result.status} in {result.duration_s:.1f}s "
          f"({hits}/{len(result.steps)} steps from cache)", file=out)
    if result.metrics:
        shown = ", ".join(f"{k}={v:.4f}" for k, v in result.metrics["overall"].items() if v is not None)
        print(f"holdout metrics: {shown}", file=out)
    if result.registration:
        reg = result.registration
        if reg.get("tracking") == "pending-sync":
            print_pending_sync(reg)
        else:
            print(f"registered model: {reg['model_name']} version {reg['model_version']} "
                  f"(MLflow run {reg['mlflow_run_id']})", file=out)
    if result.error:
        print(f"error: {result.error}", file=sys.stderr)
    if result.resume_command:
        print(f"resume with: {result.resume_command}", file=sys.stderr)
