"""``shipyard serve``."""

from __future__ import annotations

import typer

from shipyard.cli import app


@app.command("serve")
def serve_command(models: list[str] = typer.Argument(None, help="NAME (its deployment, followed) or NAME:VERSION "
                                                               "(fixed); every deployment when none is named."),
                  host: str = typer.Option("127.0.0.1", "--host"),
                  port: int = typer.Option(8080, "--port"),
                  log_predictions: bool = typer.Option(True, "--log-predictions/--no-log-predictions",
                                                       help="Append every prediction to the prediction log."),
                  log_flush_s: float = typer.Option(1.0, "--log-flush-interval", min=0.01,
                                                    help="Seconds the prediction log buffers before writing a file."),
                  compile_models: bool = typer.Option(True, "--compile/--no-compile",
                                                      help="Serve all-numeric models through ONNX Runtime when the "
                                                           "conversion reproduces scikit-learn."),
                  poll_s: float = typer.Option(0.25, "--poll-interval", min=0.05,
                                               help="Seconds between checks of the store for deployment changes.")
                  ) -> None:
    """Serve models over the Open Inference Protocol (/v2/...) and MLflow's /models/NAME/invocations."""
    from shipyard.config import load_settings
    from shipyard.serving.server import build_gateway, serve

    settings = load_settings()
    gateway = build_gateway(models or [], settings=settings, log_predictions=log_predictions, poll_interval_s=poll_s,
                            log_options={"flush_interval_s": log_flush_s}, compile_models=compile_models)
    if not gateway.routes:
        print("nothing is deployed yet; serving nothing until a deployment appears "
              "(shipyard deploy MODEL VERSION)")
    for route in gateway.routes.values():
        arms = ", ".join(f"{arm} v{loaded.version}" + (" on ONNX Runtime" if loaded.compiled else "")
                         for arm, loaded in route.arms().items())
        print(f"serving {route.model} ({arms}): POST http://{host}:{port}/v2/models/{route.model}/infer, "
              f"http://{host}:{port}/models/{route.model}/invocations")
    if log_predictions:
        print(f"prediction log: {settings.prediction_log_root}")
    serve(gateway, host=host, port=port)
