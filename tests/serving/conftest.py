import socket
import threading
import time

import pytest

from tracked_run import mlflow_home, tracked  # noqa: F401  (module-scoped fixtures)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """A real uvicorn server on loopback, in a thread."""

    def __init__(self, app):
        import uvicorn

        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def live_gateway(tracked):
    from shipyard.serving.app import create_app
    from shipyard.serving.loaded import load_for_serving

    loaded = load_for_serving("synth", tracked["result"].model_version, settings=tracked["settings"])
    with LiveServer(create_app([loaded], max_body_bytes=64 * 1024)) as server:
        server.loaded = loaded
        yield server
