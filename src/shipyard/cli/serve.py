"""``shipyard serve``."""

from __future__ import annotations

import dataclasses

import typer

from shipyard.cli import app

_DURABILITY_LINES = {
    "buffered": "a killed gateway loses at most its last {flush:g} s of predictions",
    "spool": "every prediction is on local disk before it is answered; a killed gateway loses none",
    "fsync": "every prediction is fsynced to local disk before it is answered; not even a power cut loses one",
}


@app.command("serve")
def serve_command(models: list[str] = typer.Argument(None, help="NAME (its deployment, followed) or NAME:VERSION "
                                                               "(fixed); every deployment when none is named."),
                  host: str = typer.Option("127.0.0.1", "--host"),
                  port: int = typer.Option(8080, "--port"),
                  log_predictions: bool = typer.Option(True, "--log-predictions/--no-log-predictions",
                                                       help="Append every prediction to the prediction log."),
                  log_flush_s: float = typer.Option(None, "--log-flush-interval", min=0.01, max=3600,
                                                    help="Seconds the prediction log buffers before writing a file "
                                                         "(default: $SHIPYARD_PREDICTION_LOG_FLUSH_S, else 1)."),
                  log_durability: str = typer.Option(None, "--log-durability",
                                                     help="buffered (a kill loses up to the flush interval), spool "
                                                          "(each prediction appended to a local spool before it is "
                                                          "answered) or fsync (spool + fsync per prediction) "
                                                          "(default: $SHIPYARD_PREDICTION_LOG_DURABILITY, "
                                                          "else buffered)."),
                  compile_models: bool = typer.Option(True, "--compile/--no-compile",
                                                      help="Serve models through ONNX Runtime when the "
                                                           "conversion reproduces scikit-learn."),
                  poll_s: float = typer.Option(0.25, "--poll-interval", min=0.05,
                                               help="Seconds between checks of the store for deployment and "
                                                    "token changes."),
                  require_token: str = typer.Option(None, "--require-token",
                                                    help="inference, metrics, both (inference,metrics) or none: "
                                                         "what a request needs an API token with that scope for "
                                                         "(default: $SHIPYARD_GATEWAY_REQUIRE_TOKEN, else none).")
                  ) -> None:
    """Serve models over the Open Inference Protocol (/v2/...) and MLflow's /models/NAME/invocations."""
    from shipyard.config import GATEWAY_SCOPES, durability, gateway_scopes, load_settings
    from shipyard.serving.server import build_gateway, is_loopback, load_failures_text, serve

    settings = load_settings()
    if log_flush_s is not None:
        settings = dataclasses.replace(settings, prediction_log_flush_s=log_flush_s)
    if log_durability is not None:
        settings = dataclasses.replace(settings, prediction_log_durability=durability(log_durability,
                                                                                      "--log-durability"))
    if require_token is not None:
        settings = dataclasses.replace(settings, gateway_require_token=gateway_scopes(require_token,
                                                                                      "--require-token"))
    gateway = build_gateway(models or [], settings=settings, log_predictions=log_predictions, poll_interval_s=poll_s,
                            compile_models=compile_models)
    failures = load_failures_text(gateway)
    if not gateway.routes and not failures:
        print("nothing is deployed yet; serving nothing until a deployment appears "
              "(shipyard deploy MODEL VERSION)")
    for route in gateway.routes.values():
        arms = ", ".join(f"{arm} v{loaded.version} on {loaded.runs_on}" for arm, loaded in route.arms().items())
        print(f"serving {route.model} ({arms}): POST http://{host}:{port}/v2/models/{route.model}/infer, "
              f"http://{host}:{port}/models/{route.model}/invocations")
    for line in failures:
        print(f"warning: {line}")
    required = settings.gateway_require_token
    if required:
        print(f"tokens required for: {', '.join(required)} (revocations apply within {poll_s:g} s; create one "
              f"with shipyard tokens create --name NAME --for svc:NAME --scope {required[0]})")
    open_scopes = [scope for scope in GATEWAY_SCOPES if scope not in required]
    if open_scopes and not is_loopback(host):
        print(f"warning: {host} is reachable from other machines and {' and '.join(open_scopes)} need no token: "
              f"anyone who reaches port {port} can use them; pass --require-token inference,metrics "
              "(or set SHIPYARD_GATEWAY_REQUIRE_TOKEN) in production")
    if log_predictions:
        mode = settings.prediction_log_durability
        print(f"prediction log: {settings.prediction_log_root} ({mode}: "
              f"{_DURABILITY_LINES[mode].format(flush=settings.prediction_log_flush_s)})")
        replayed = gateway.replayed
        if replayed is not None and replayed.segments:
            print(f"prediction spool: wrote {replayed.written_rows} rows of {replayed.records} predictions that a "
                  f"stopped gateway had spooled" + (f"; {replayed.left} spool files could not be written yet"
                                                    if replayed.left else ""))
    serve(gateway, host=host, port=port)
