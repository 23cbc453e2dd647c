"""``/api/v1/tokens``: API tokens; the secret is in the creating answer only, the server keeps its hash."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta

from fastapi import APIRouter, Depends, Query

from shipyard.config import Settings
from shipyard.server.auth import Caller, caller
from shipyard.server.pagination import Page, Window, parse_sort, sort_in_memory, sort_query, window
from shipyard.server.problems import problem_responses
from shipyard.server.schemas import CreatedTokenOut, TokenIn, TokenOut, TokenStatus
from shipyard.server.settings import app_settings

router = APIRouter(prefix="/tokens", tags=["tokens"])
TOKEN_SORT = {"created_at": lambda t: (t.created_at, t.id), "name": lambda t: (t.name, t.id),
              "identity": lambda t: (t.identity, t.created_at, t.id)}


def token_out(info) -> dict:
    return asdict(info) | {"status": info.status()}


@router.post("", response_model=CreatedTokenOut, status_code=201,
             summary="Create a token for the caller (or, as its team admin or a platform admin, for another "
                     "identity); the secret is in this answer only",
             responses=problem_responses(400, 401, 403, 404, 422, 503))
def create_token(body: TokenIn, who: Caller = Depends(caller), settings: Settings = Depends(app_settings)) -> dict:
    from shipyard.governance.tokens import create_token as create

    lifetime = None if body.expires_in_s is None else timedelta(seconds=body.expires_in_s)
    with who.acting():
        created = create(body.name, identity=body.identity, expires_in=lifetime, scopes=body.scopes,
                         settings=settings)
    return {"secret": created.secret, "info": token_out(created.info)}


@router.get("", response_model=Page[TokenOut],
            summary="The caller's tokens (a platform admin's: everyone's), never their secrets",
            responses=problem_responses(400, 401, 403, 422, 503))
def list_tokens(identity: str | None = Query(None, description="Only this identity's tokens (yours, a member's "
                                                              "of a team you administer, or any as a platform "
                                                              "admin)."),
                status: TokenStatus | None = None, sort: str = sort_query("created_at", tuple(TOKEN_SORT)),
                page: Window = Depends(window), who: Caller = Depends(caller),
                settings: Settings = Depends(app_settings)) -> dict:
    from shipyard.governance.tokens import list_tokens as tokens

    order = parse_sort(sort, tuple(TOKEN_SORT))
    with who.acting():
        found = tokens(identity=identity, settings=settings)
    chosen = [t for t in found if status is None or t.status() == status]
    return page.slice([token_out(t) for t in sort_in_memory(chosen, order, TOKEN_SORT)])


@router.post("/{token_id}/revoke", response_model=TokenOut,
             summary="Revoke a token: the next request with it is refused",
             responses=problem_responses(401, 403, 404, 409, 503))
def revoke_token(token_id: str, who: Caller = Depends(caller), settings: Settings = Depends(app_settings)) -> dict:
    from shipyard.governance.tokens import revoke_token as revoke

    with who.acting():
        return token_out(revoke(token_id, settings=settings))
