"""``shipyard k8s render``: the Kubernetes manifests of a pipeline's steps."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from shipyard.cli import app

k8s_app = typer.Typer(help="Kubernetes manifests for a pipeline's steps.", no_args_is_help=True)
app.add_typer(k8s_app, name="k8s")


@k8s_app.command("render")
def render_command(
    pipeline: Path = typer.Argument(..., help="The pipeline YAML."),
    out: Path = typer.Option(..., "--out", metavar="DIR", help="Folder to write the manifests to (created)."),
    run_id: str = typer.Option(None, "--run-id", metavar="RUN_ID",
                               help="The run the Jobs belong to; default: a new run, recorded as `shipyard runs "
                                    "create` does."),
    image: str = typer.Option(None, "--image", help="Container image; default kubernetes.image in the spec, then "
                                                   "SHIPYARD_K8S_IMAGE."),
) -> None:
    """Write the PriorityClasses the steps use and one Job per step (`shipyard step run RUN_ID STEP`, with the step's
    retries), numbered in the order the steps run; apply each Job after the one before it completed."""
    from shipyard.pipeline.k8s_render import render_pipeline

    run, written = render_pipeline(pipeline, out, run_id=run_id, image=image)
    for path in written:
        print(path)
    print(f"run {run}: {len(written) - 1} step Jobs written to {out}", file=sys.stderr)
