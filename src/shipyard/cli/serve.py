"""``shipyard serve``."""

from __future__ import annotations

import typer

from shipyard.cli import app


@app.command("serve")
def serve_command(models: list[str] = typer.Argument(..., help="NAME (its production version) or NAME:VERSION."),
                  host: str = typer.Option("127.0.0.1", "--host"),
                  port: int = typer.Option(8080, "--port")) -> None:
    """Serve models over the Open Inference Protocol (/v2/...) and MLflow's /models/NAME/invocations."""
    from shipyard.serving.server import load_targets, serve

    loaded = load_targets(models)
    for version in loaded:
        print(f"serving {version.model} version {version.version} "
              f"(POST http://{host}:{port}/v2/models/{version.model}/infer, "
              f"http://{host}:{port}/models/{version.model}/invocations)")
    serve(loaded, host=host, port=port)
