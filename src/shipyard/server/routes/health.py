"""``/api/v1/health``: answers without authentication, touching no store."""

from __future__ import annotations

from fastapi import APIRouter

from shipyard.server.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, summary="The server is up")
def health() -> Health:
    from importlib.metadata import PackageNotFoundError, version

    try:
        installed = version("shipyard")
    except PackageNotFoundError:
        installed = "unknown"
    return Health(status="ok", version=installed, api="v1")
