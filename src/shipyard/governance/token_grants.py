"""What every API token grants, read whole for a cache that must not query the store per request.

A gateway keeps :func:`read_grants` in memory, keyed by the SHA-256 of each token, and asks
:func:`grants_revision` on every poll: one aggregate row that changes whenever a token is
created, revoked or deleted, so that the full read happens only then.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from shipyard.config import Settings
from shipyard.store.db import session_scope
from shipyard.store.models import ApiToken


@dataclass(frozen=True, slots=True, kw_only=True)
class Grant:
    token_id: str
    name: str
    identity: str
    scopes: frozenset[str]
    expires_at: float | None
    """Seconds since the epoch (compared with ``time.time()``); None: never expires."""
    revoked: bool


def grants_revision(*, settings: Settings | None = None) -> tuple:
    """Changes whenever the set of tokens or their revocations change (counts as well as times: clock skew
    between the machines that create and revoke tokens cannot hide a change)."""
    with session_scope(settings) as session:
        return tuple(session.execute(select(func.count(ApiToken.id), func.count(ApiToken.revoked_at),
                                            func.max(ApiToken.created_at), func.max(ApiToken.revoked_at))).one())


def read_grants(*, settings: Settings | None = None) -> dict[str, Grant]:
    """Every token's grant, keyed by the token's SHA-256 (hex)."""
    columns = (ApiToken.token_hash, ApiToken.id, ApiToken.name, ApiToken.identity, ApiToken.scopes,
               ApiToken.expires_at, ApiToken.revoked_at)
    with session_scope(settings) as session:
        return {digest: Grant(token_id=token_id, name=name, identity=identity, scopes=frozenset(scopes.split()),
                              expires_at=None if expires_at is None else expires_at.timestamp(),
                              revoked=revoked_at is not None)
                for digest, token_id, name, identity, scopes, expires_at, revoked_at
                in session.execute(select(*columns))}
