"""Starting a gateway process: decide what to serve, load and warm it, run uvicorn."""

from __future__ import annotations

import contextlib
import gc
import ipaddress
import signal
import socket
import threading
import time
from collections.abc import Collection, Iterator

from shipyard.config import Settings, load_settings
from shipyard.errors import RefusedError, UsageError
from shipyard.serving.follower import RETRY_FAILED_LOAD_S
from shipyard.serving.gateway import Gateway
from shipyard.serving.loaded import load_for_serving
from shipyard.serving.serving_time import ServingClock


def build_gateway(targets: list[str] | None = None, *, settings: Settings | None = None,
                  log_predictions: bool = True, poll_interval_s: float = 0.25, tick_s: float = 0.25,
                  compile_models: bool = True, require_token: Collection[str] | None = None) -> Gateway:
    """A gateway for ``targets``, loaded and warmed.

    No targets: every deployment in the store, followed as it changes. ``NAME``: that model's
    deployment, followed (or, if it was never deployed, its production version, fixed).
    ``NAME:VERSION``: that version, fixed. The prediction log follows ``settings``
    (``prediction_log_flush_s``, ``prediction_log_durability``); predictions that a gateway which
    is gone left in the spool are written to the log first (``gateway.replayed``), and the time the
    gateway serves each model is recorded beside the log (``serving_time``, charged at
    ``settings.gateway_resources``).
    ``require_token`` (default: ``settings.gateway_require_token``) names the scopes, ``inference``
    and/or ``metrics``, that requests must hold a token for; the tokens are re-read every poll.

    Raises :class:`RefusedError` when deployments exist but not one of their versions loads.
    """
    from shipyard.registry.lifecycle import production_version
    from shipyard.serving.deployments import find_deployment
    from shipyard.tracking.setup import configure_mlflow

    settings = settings or load_settings()
    configure_mlflow(settings)
    pinned, followed = [], []
    for target in targets or []:
        name, _, version = target.partition(":")
        if not name:
            raise UsageError(f"'{target}' is not a model to serve; write NAME or NAME:VERSION")
        if name in {p[0] for p in pinned} | set(followed):
            raise UsageError(f"model '{name}' is named twice; a gateway serves each model once")
        if version:
            pinned.append((name, version))
        elif find_deployment(name, settings=settings) is not None:
            followed.append(name)
        else:
            production = production_version(name, settings=settings)
            if production is None:
                raise RefusedError(f"model '{name}' is neither deployed nor has a version in production",
                                   hint=f"deploy one (shipyard deploy {name} VERSION) or serve {name}:VERSION")
            pinned.append((name, production))
    log = live = replayed = None
    if log_predictions:
        from shipyard.monitoring.live import LiveDrift

        live = LiveDrift(settings)
        log, replayed = _prediction_log(settings, observers=[live.observe])
    gateway = Gateway.pinned([load_for_serving(n, v, settings=settings, compile=compile_models) for n, v in pinned],
                             prediction_log=log)
    gateway.compile_models = compile_models
    gateway.require_token(settings.gateway_require_token if require_token is None else require_token,
                          settings=settings, refresh_interval_s=poll_interval_s)
    gateway.replayed = replayed
    if log_predictions:
        gateway.serving_clock = ServingClock(lambda: gateway.routes.keys(), settings.prediction_log_root,
                                             settings.gateway_resources)
    if live is not None:
        gateway.live_drift = live
        gateway.metrics.watch_live_drift(live)
    if not targets or followed:
        gateway.follow(settings=settings, models=followed or None, poll_interval_s=poll_interval_s, tick_s=tick_s)
        if not gateway.routes and gateway.follower.failed:
            gateway.stop()
            raise RefusedError(
                "nothing can be served: " + "; ".join(load_failures_text(gateway)),
                headline="no deployed version loads",
                hint="deploy a version that loads (shipyard deploy MODEL VERSION) or roll back "
                     "(shipyard rollback MODEL --reason TEXT); the audit log keeps each failure (load_failed)")
    return gateway


def load_failures_text(gateway: Gateway) -> list[str]:
    """One line per version this gateway failed to load: which, why, and what serves its model meanwhile."""
    if gateway.follower is None:
        return []
    lines = []
    for (model, version), (_, reason) in sorted(gateway.follower.failed.items()):
        route = gateway.routes.get(model)
        outcome = (f"{model} is not served (the stable version failed)" if route is None
                   else f"{model} is served by version {route.stable.version} meanwhile")
        lines.append(f"{model} version {version} failed to load: {reason} ({outcome}; retried every "
                     f"{RETRY_FAILED_LOAD_S:.0f} s)")
    return lines


def _prediction_log(settings: Settings, *, observers: list):
    """The prediction-log writer ``settings`` ask for, after writing what gone gateways left in the spool."""
    from shipyard.serving.prediction_log import PredictionLogWriter
    from shipyard.serving.spool import SpooledPredictionLog, replay_spool

    durability = settings.prediction_log_durability
    replayed = replay_spool(settings.prediction_spool_root, settings.prediction_log_root,
                            sync=durability == "fsync")
    if durability == "buffered":
        log = PredictionLogWriter(settings.prediction_log_root, flush_interval_s=settings.prediction_log_flush_s,
                                  observers=observers)
    else:
        log = SpooledPredictionLog(settings.prediction_log_root, settings.prediction_spool_root,
                                   sync=durability == "fsync", flush_interval_s=settings.prediction_log_flush_s,
                                   observers=observers)
    return log, replayed


def serve(gateway: Gateway, *, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Serve until SIGINT/SIGTERM; a graceful stop drains the prediction log."""
    import uvicorn

    from shipyard.serving.app import create_app

    app = create_app(gateway)
    gc.collect()
    gc.freeze()  # models and libraries are long-lived: keep them out of the collector's generations
    # uvicorn stops gracefully on SIGTERM, then re-raises it to the handler found at start: let that one
    # be a no-op so a graceful stop exits 0
    signal.signal(signal.SIGTERM, lambda *_: None)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
    if gateway.prediction_log is not None:
        log = gateway.prediction_log
        print(f"stopped; prediction log drained ({log.written_rows} rows written, {log.dropped} dropped)")


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach ``host`` (a name other than localhost may resolve anywhere)."""
    if host.strip("[]") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def background_gateway(gateway: Gateway, *, host: str = "127.0.0.1", port: int = 0,
                       start_timeout_s: float = 30) -> Iterator[str]:
    """A gateway on a thread of this process (port 0 picks a free one); yields its base URL."""
    from shipyard.serving.app import create_app

    with background_app(create_app(gateway), host=host, port=port, start_timeout_s=start_timeout_s,
                        what="the gateway") as url:
        yield url


@contextlib.contextmanager
def background_app(app, *, host: str = "127.0.0.1", port: int = 0, start_timeout_s: float = 30,
                   what: str = "the server") -> Iterator[str]:
    """An ASGI app served by uvicorn on a thread of this process (port 0 picks a free one); yields its base URL."""
    import uvicorn

    port = port or free_port(host)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RefusedError(f"{what} could not start on {host}:{port}")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
