"""``shipyard server``: the platform API for every client (CLI, dashboard, CI, services)."""

from __future__ import annotations

import typer

from shipyard.cli import app


@app.command("server")
def server_command(host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
                   port: int = typer.Option(8000, "--port", min=1, max=65535),
                   no_auth: bool = typer.Option(False, "--no-auth",
                                                help="Serve without bearer tokens, acting as the local identity "
                                                     "(loopback only).")) -> None:
    """Serve the REST API /api/v1 (OpenAPI at /docs and /openapi.json) and the dashboard at / over the same stores as
    every command."""
    import uvicorn

    from shipyard.config import load_settings
    from shipyard.errors import UsageError
    from shipyard.server.app import create_app
    from shipyard.server.auth import is_loopback
    from shipyard.store.db import masked

    if no_auth and not is_loopback(host):
        raise UsageError(f"--no-auth serves every route to anyone who can reach {host}; it is allowed only on "
                         "loopback (127.0.0.1, ::1, localhost)",
                         hint="drop --no-auth and give clients tokens (shipyard tokens create), or bind 127.0.0.1")
    settings = load_settings()
    api = create_app(settings, require_auth=not no_auth)
    shown = f"[{host}]" if ":" in host else host
    print(f"shipyard API on http://{shown}:{port}/api/v1 (OpenAPI: http://{shown}:{port}/docs, dashboard: "
          f"http://{shown}:{port}/); "
          f"metadata store {masked(settings.database_url)}" + ("; no authentication" if no_auth else ""))
    uvicorn.run(api, host=host, port=port, log_level="warning")
