"""Starting a gateway process: resolve what to serve, load and warm it, run uvicorn."""

from __future__ import annotations

import contextlib
import gc
import threading
import time
from collections.abc import Iterator

from shipyard.config import Settings, load_settings
from shipyard.errors import RefusedError, SpecError
from shipyard.serving.loaded import LoadedVersion, load_for_serving


def resolve_targets(targets: list[str], *, settings: Settings | None = None) -> list[tuple[str, str]]:
    """``name`` (its production version) or ``name:version`` → (name, version)."""
    from shipyard.registry.lifecycle import production_version

    resolved = []
    for target in targets:
        name, _, version = target.partition(":")
        if not name:
            raise SpecError(f"'{target}' is not a model to serve; write NAME or NAME:VERSION")
        if not version:
            version = production_version(name, settings=settings)
            if version is None:
                raise RefusedError(f"model '{name}' has no version in production",
                                   hint=f"promote one (shipyard models promote {name} VERSION) or serve "
                                        f"{name}:VERSION explicitly")
        resolved.append((name, version))
    names = [n for n, _ in resolved]
    if len(set(names)) != len(names):
        raise SpecError("each model can be served once per gateway; give one version per model name")
    return resolved


def load_targets(targets: list[str], *, settings: Settings | None = None) -> list[LoadedVersion]:
    settings = settings or load_settings()
    return [load_for_serving(name, version, settings=settings)
            for name, version in resolve_targets(targets, settings=settings)]


def serve(loaded: list[LoadedVersion], *, host: str = "127.0.0.1", port: int = 8080) -> None:
    import uvicorn

    from shipyard.serving.app import create_app

    app = create_app(loaded)
    gc.collect()
    gc.freeze()  # models and libraries are long-lived: keep them out of the collector's generations
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


@contextlib.contextmanager
def background_gateway(loaded: list[LoadedVersion], *, host: str = "127.0.0.1", port: int = 0,
                       start_timeout_s: float = 30) -> Iterator[str]:
    """A gateway on a thread of this process (port 0 picks a free one); yields its base URL."""
    import socket

    import uvicorn

    from shipyard.serving.app import create_app

    if port == 0:
        with socket.socket() as probe:
            probe.bind((host, 0))
            port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(loaded), host=host, port=port, log_level="warning",
                                           access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RefusedError(f"the gateway could not start on {host}:{port}")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
