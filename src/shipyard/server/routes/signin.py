"""``/api/v1/auth``: how a client may sign in, answered without a token (the dashboard asks before it has one)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from shipyard.config import Settings
from shipyard.server.schemas import SignInOptionsOut
from shipyard.server.settings import app_settings

router = APIRouter(tags=["identity"])


@router.get("/auth", response_model=SignInOptionsOut,
            summary="How to sign in: whether tokens are needed, the OIDC issuer whose JWTs are accepted, and the "
                    "dashboard's client there")
def sign_in_options(request: Request, settings: Settings = Depends(app_settings)) -> dict:
    oidc = {"issuer": settings.oidc_issuer, "audience": settings.oidc_audience,
            "client_id": settings.oidc_client_id, "scopes": settings.oidc_scopes} if settings.oidc_enabled else None
    return {"tokens": request.app.state.require_auth, "oidc": oidc}
