"""``shipyard validate`` and ``shipyard schema``."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from shipyard.cli import app


@app.command("validate")
def validate_command(pipeline: Path = typer.Argument(..., help="The pipeline YAML.")) -> None:
    """Check a pipeline YAML without running it."""
    from shipyard.pipeline.compile import compile_spec
    from shipyard.spec import load_spec

    loaded = load_spec(pipeline)
    spec = loaded.spec
    dag = compile_spec(spec, spec_text=loaded.text, spec_filename=pipeline.name, source_digest=None)
    print(f"{pipeline}: ok")
    print(f"  pipeline  {spec.name}" + (f" (team {spec.team})" if spec.team else ""))
    print(f"  model     {spec.model.flavor} {spec.model.estimator} ({spec.task()})")
    if spec.sweep:
        print(f"  sweep     {spec.sweep.n_trials} trials on {spec.sweep.metric} ({spec.sweep.direction})")
    print(f"  steps     {' → '.join(dag.topological_order())}")


@app.command("schema")
def schema_command(output: Path = typer.Option(None, "--output", "-o", help="Write to this file.")) -> None:
    """Print the JSON Schema of the pipeline YAML (for editor completion)."""
    from shipyard.spec import json_schema

    text = json.dumps(json_schema(), indent=2)
    if output:
        output.write_text(text + "\n")
        print(f"wrote {output}")
    else:
        print(text)
