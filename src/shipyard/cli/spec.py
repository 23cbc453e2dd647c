"""``shipyard validate`` and ``shipyard schema``."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from shipyard.cli import app


@app.command("validate")
def validate_command(
    pipeline: Path = typer.Argument(..., help="The pipeline YAML.", show_default=False),
    offline: bool = typer.Option(False, "--offline", help="Do not open the data source (no header or schema "
                                                          "reads); check everything else."),
) -> None:
    """Check a pipeline YAML without running it: keys and values, how its steps connect, the data's columns,
    the estimator and its parameters, the metrics the gates name, and that the user's functions import."""
    from shipyard.pipeline.compile import compile_spec
    from shipyard.pipeline.preflight import check
    from shipyard.spec import load_spec

    loaded = load_spec(pipeline)
    spec = loaded.spec
    dag = compile_spec(spec, spec_text=loaded.text, spec_filename=pipeline.name, source_digest=None)
    check(loaded=loaded, read_data=not offline, source=str(pipeline))
    sweep = spec.sweep
    print(f"{pipeline}: ok" + (" (--offline: the data source was not read)" if offline else ""))
    print(f"  pipeline  {spec.name}" + (f" (team {spec.team})" if spec.team else ""))
    user_steps = {step.name for step in spec.steps}
    order = dag.topological_order()
    if spec.trains_model:
        print(f"  model     {spec.model.flavor} {spec.model.estimator} ({spec.task()})")
        print(f"  sweep     {sweep.n_trials} trials on {sweep.metric} ({sweep.direction})" if sweep
              else "  sweep     none")
        print(f"  steps     {' → '.join(name for name in order if name not in user_steps)}")
    else:
        print("  model     none: only the steps below run, and nothing is registered")
    for name in (name for name in order if name in user_steps):
        print(f"  user step {name} (after {', '.join(sorted(dag.node(name).upstream())) or 'nothing'})")


@app.command("schema")
def schema_command(
    output: Path = typer.Option(None, "--output", "-o", help="Write the schema to this file instead of stdout."),
) -> None:
    """Print the JSON Schema of the pipeline YAML (for editor completion and checks)."""
    from shipyard.errors import ShipyardError
    from shipyard.spec import json_schema

    text = json.dumps(json_schema(), indent=2) + "\n"
    if output is None:
        print(text, end="")
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ShipyardError(f"{output}: {exc.strerror or exc}", headline="cannot write the schema") from None
    print(f"wrote {output}")
