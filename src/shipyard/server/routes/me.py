"""``/api/v1/me``: who the bearer token says the caller is."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from shipyard.server.auth import Caller, caller
from shipyard.server.problems import problem_responses
from shipyard.server.schemas import IdentityOut

router = APIRouter(tags=["identity"])


@router.get("/me", response_model=IdentityOut, summary="The caller's identity: name, kind, teams and roles",
            responses=problem_responses(401, 503))
def me(who: Caller = Depends(caller)) -> dict:
    identity = who.identity
    return {"name": identity.name, "kind": identity.kind, "teams": sorted(identity.roles),
            "roles": dict(identity.roles), "platform_admin": identity.platform_admin,
            "authenticated": identity.authenticated}
