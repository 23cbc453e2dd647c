"""The server's ASGI app: ``create_app()`` wires the ``/api/v1`` routes, authentication and problem answers."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI

from shipyard.config import Settings, load_settings
from shipyard.server import dashboard, problems
from shipyard.server.auth import caller, reads
from shipyard.server.routes import (audit, cost, deployments, health, lifecycle, me, models, monitoring, permissions,
                                    queue, runs, signin, teams, tokens)

API_PREFIX = "/api/v1"
PUBLIC_PATHS = (f"{API_PREFIX}/health", f"{API_PREFIX}/auth")
"""The routes that answer without a token."""
READS = {runs: "runs.read", queue: "runs.read", models: "models.read", lifecycle: "models.read",
         deployments: "models.read", monitoring: "models.read", permissions: "models.read", audit: "audit.read",
         teams: "teams.read", cost: "cost.read", tokens: None}
"""Each route module, and the read operation its GET routes need (None: its plane functions authorize reads,
as listing one's own tokens needs no role in a team)."""


def create_app(settings: Settings | None = None, *, require_auth: bool = True,
               static_dir: Path = dashboard.STATIC_DIR) -> FastAPI:
    """The API over the stores ``settings`` name (default: the environment's).

    With ``require_auth`` every route but :data:`PUBLIC_PATHS` and the OpenAPI document needs a bearer
    token; without it requests act as the local identity (serve that only on loopback). The dashboard built
    into ``static_dir`` is served at ``/``.
    """
    from shipyard.tracking.setup import configure_mlflow

    settings = settings or load_settings()
    configure_mlflow(settings)
    app = FastAPI(title="shipyard", version="1", summary="The platform API: runs, models, lifecycle, deployments, "
                                                         "monitoring, audit, teams and tokens",
                  responses=problems.problem_responses(405, 500))
    app.state.settings = settings
    app.state.require_auth = require_auth
    problems.install(app)
    api = APIRouter(prefix=API_PREFIX)
    api.include_router(health.router)
    api.include_router(signin.router)
    guarded = APIRouter(dependencies=[Depends(caller)], responses=problems.problem_responses(401, 403))
    guarded.include_router(me.router)  # any valid token may ask whose it is, with or without a team role
    for module, read in READS.items():
        guarded.include_router(module.router, dependencies=[Depends(reads(read))] if read else [])
    api.include_router(guarded)
    app.include_router(api)
    dashboard.install(app, static_dir)
    if require_auth:
        _declare_bearer(app)
    return app


@contextlib.contextmanager
def background_server(settings: Settings | None = None, *, require_auth: bool = True, host: str = "127.0.0.1",
                      port: int = 0) -> Iterator[str]:
    """``shipyard server`` on a thread of this process (port 0 picks a free one); yields its base URL."""
    from shipyard.serving.server import background_app

    with background_app(create_app(settings, require_auth=require_auth), host=host, port=port,
                        what="the API server") as url:
        yield url


def _declare_bearer(app: FastAPI) -> None:
    """Name the bearer scheme in the OpenAPI document, required on every route except the health check."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = build()
        document.setdefault("components", {})["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer", "description": "An API token (shy_...) or an OIDC JWT."}}
        for path, operations in document.get("paths", {}).items():
            if path in PUBLIC_PATHS:
                continue
            for operation in operations.values():
                operation["security"] = [{"bearer": []}]
        app.openapi_schema = document
        return document

    app.openapi = openapi
