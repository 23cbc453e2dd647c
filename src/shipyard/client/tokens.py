"""API tokens through the API, as the governance plane's :class:`TokenInfo` and :class:`CreatedToken`."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from shipyard.client.remote import rebuild, segment
from shipyard.governance.tokens import CreatedToken, TokenInfo, check_scopes

if TYPE_CHECKING:
    from shipyard.client.http import ApiClient


def create_token(api: ApiClient, name: str, *, identity: str | None, expires_in: timedelta | None,
                 scopes: list[str] | tuple[str, ...]) -> CreatedToken:
    """A new token (for the caller, or ``identity``); its secret is in this answer only.

    The scopes are checked here first, so that a mistake reads as it does in-process rather than as the
    API schema's pattern.
    """
    body = {"name": name, "scopes": list(check_scopes(scopes)),
            "expires_in_s": None if expires_in is None else expires_in.total_seconds()}
    if identity is not None:
        body["identity"] = identity
    return rebuild(CreatedToken, api.post("/tokens", body))


def list_tokens(api: ApiClient, *, identity: str | None) -> list[TokenInfo]:
    """The caller's tokens (a platform admin's: everyone's), or ``identity``'s, oldest first."""
    return rebuild(list[TokenInfo], list(api.pages("/tokens", identity=identity, sort="created_at")))


def revoke_token(api: ApiClient, token_id: str) -> TokenInfo:
    return rebuild(TokenInfo, api.post(f"/tokens/{segment(token_id)}/revoke"))
