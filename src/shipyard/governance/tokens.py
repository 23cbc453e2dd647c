"""API tokens: shown once when created, kept only as their SHA-256, named, expiring, revocable.

:func:`authenticate_bearer` turns a bearer credential into an :class:`Identity`: an API token
(``shy_`` prefix) or, when OpenID Connect is configured, a JWT from the issuer.

A token may also carry gateway scopes: ``inference`` (every model a gateway serves),
``inference:MODEL`` (one model) and ``metrics`` (a gateway's ``/metrics``). A gateway that
requires a token for one of them accepts only tokens granting it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from shipyard.config import GATEWAY_SCOPES, Settings, load_settings
from shipyard.errors import ForbiddenError, NotFoundError, RefusedError, UnauthenticatedError, UsageError
from shipyard.governance.audit import append_event
from shipyard.governance.directory import check_name, load_identity
from shipyard.governance.identity import Identity, current_identity
from shipyard.governance.policy import role_allows
from shipyard.store.db import session_scope
from shipyard.store.models import ApiToken, IdentityRow, TeamMember

PREFIX = "shy_"
DEFAULT_LIFETIME = timedelta(days=90)
LAST_USED_RESOLUTION = timedelta(minutes=1)
"""``last_used_at`` is written at most this often per token, so that using a token stays a read."""


@dataclass(frozen=True, kw_only=True)
class TokenInfo:
    id: str
    name: str
    identity: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    scopes: tuple[str, ...] = ()

    def status(self, now: datetime | None = None) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= (now or _now()):
            return "expired"
        return "active"


@dataclass(frozen=True, kw_only=True)
class CreatedToken:
    secret: str
    """The token itself: shown this once, never stored."""
    info: TokenInfo


def _now() -> datetime:
    return datetime.now(timezone.utc)


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _info(row: ApiToken) -> TokenInfo:
    return TokenInfo(id=row.id, name=row.name, identity=row.identity, created_at=row.created_at,
                     expires_at=row.expires_at, revoked_at=row.revoked_at, last_used_at=row.last_used_at,
                     scopes=tuple(row.scopes.split()))


def _may_manage(actor: Identity, owner: str, session) -> bool:
    """One's own tokens; any token as a platform admin or locally; a member's as an admin of their team."""
    if actor.is_local or actor.platform_admin or actor.name == owner:
        return True
    teams = session.scalars(select(TeamMember.team).where(TeamMember.identity == owner)).all()
    return any(role_allows(actor.roles.get(team), "tokens.manage") for team in teams)


def check_scopes(scopes: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The gateway scopes a token may carry, sorted and without repeats; :class:`UsageError` for any other."""
    checked = set()
    for scope in scopes:
        base, colon, model = scope.partition(":")
        if base not in GATEWAY_SCOPES or (colon and (base != "inference" or not model.strip())) \
                or any(c.isspace() for c in scope) or len(scope) > 200:
            raise UsageError(f"'{scope}' is not a token scope; a token can grant inference (every model), "
                             "inference:MODEL (one model) or metrics",
                             hint="e.g. --scope inference:churn --scope metrics")
        checked.add(scope)
    return tuple(sorted(checked))


def create_token(name: str, *, identity: str | None = None, expires_in: timedelta | None = DEFAULT_LIFETIME,
                 scopes: list[str] | tuple[str, ...] = (), settings: Settings | None = None) -> CreatedToken:
    """A new token for ``identity`` (default: the caller); ``expires_in=None`` never expires.

    ``scopes`` (see the module's docstring) let a gateway that requires a token accept it.
    """
    if not name or not name.strip() or len(name) > 200:
        raise UsageError("a token needs a name of 1 to 200 characters", hint="pass --name, e.g. --name ci")
    if expires_in is not None and expires_in <= timedelta(0):
        raise UsageError("a token's lifetime must be positive", hint="e.g. --expires-in 30d")
    scopes = check_scopes(scopes)
    actor = current_identity()
    owner = check_name(identity or actor.name, "identity")
    secret = PREFIX + secrets.token_urlsafe(32)
    now = _now()
    with session_scope(settings) as session:
        if session.get(IdentityRow, owner) is None:
            raise NotFoundError(f"there is no identity '{owner}' to give a token to",
                                hint="add it to a team first: shipyard teams add-member TEAM NAME --role ROLE")
        if not _may_manage(actor, owner, session):
            raise ForbiddenError(f"{actor.name} may not create tokens for {owner}",
                                 hint=f"ask {owner}, an admin of one of its teams, or a platform admin")
        row = ApiToken(id=secrets.token_hex(8), name=name.strip(), identity=owner, token_hash=token_hash(secret),
                       created_at=now, expires_at=None if expires_in is None else now + expires_in,
                       scopes=" ".join(scopes))
        session.add(row)
        append_event(actor=actor.name, action="token_created", reason=f"token '{row.name}' for {owner}",
                     details={"token_id": row.id, "identity": owner, "scopes": list(scopes),
                              "expires_at": row.expires_at.isoformat() if row.expires_at else None},
                     session=session)
        return CreatedToken(secret=secret, info=_info(row))


def list_tokens(*, identity: str | None = None, settings: Settings | None = None) -> list[TokenInfo]:
    """Tokens of ``identity`` (default: the caller's own; everyone's for a platform admin or locally)."""
    actor = current_identity()
    with session_scope(settings) as session:
        query = select(ApiToken).order_by(ApiToken.created_at, ApiToken.id)
        owner = identity or (None if actor.is_local or actor.platform_admin else actor.name)
        if owner is not None:
            if not _may_manage(actor, owner, session):
                raise ForbiddenError(f"{actor.name} may not list the tokens of {owner}",
                                     hint="list your own tokens: shipyard tokens list")
            query = query.where(ApiToken.identity == owner)
        return [_info(row) for row in session.scalars(query)]


def revoke_token(token_id: str, *, settings: Settings | None = None) -> TokenInfo:
    """Revoke at once: the next request with the token is refused."""
    actor = current_identity()
    with session_scope(settings) as session:
        row = session.get(ApiToken, token_id, with_for_update=True)
        if row is None:
            raise NotFoundError(f"there is no token with id '{token_id}'",
                                hint="`shipyard tokens list` shows token ids")
        if not _may_manage(actor, row.identity, session):
            raise ForbiddenError(f"{actor.name} may not revoke the tokens of {row.identity}",
                                 hint=f"ask {row.identity}, an admin of one of its teams, or a platform admin")
        if row.revoked_at is not None:
            raise RefusedError(f"token {token_id} was already revoked at {row.revoked_at:%Y-%m-%d %H:%M:%S} UTC")
        row.revoked_at = _now()
        append_event(actor=actor.name, action="token_revoked", reason=f"token '{row.name}' of {row.identity}",
                     details={"token_id": row.id, "identity": row.identity}, session=session)
        return _info(row)


def authenticate_bearer(token: str, *, settings: Settings | None = None) -> Identity:
    """The identity a bearer credential proves; :class:`UnauthenticatedError` when it proves none."""
    settings = settings or load_settings()
    token = (token or "").strip()
    if token.startswith(PREFIX):
        return _authenticate_api_token(token, settings)
    if settings.oidc_enabled and token.count(".") == 2:
        from shipyard.governance.oidc import authenticate_jwt

        return authenticate_jwt(token, settings=settings)
    accepted = "an API token (shy_...)" + (" or a JWT from " + settings.oidc_issuer if settings.oidc_enabled else "")
    raise UnauthenticatedError(f"the bearer credential is not {accepted}",
                               hint="create a token with `shipyard tokens create --name NAME`")


def _authenticate_api_token(token: str, settings: Settings) -> Identity:
    now = _now()
    with session_scope(settings) as session:
        row = session.scalars(select(ApiToken).where(ApiToken.token_hash == token_hash(token))).first()
        if row is None:
            raise UnauthenticatedError("the API token is not known", hint="check it, or create a new one with "
                                       "`shipyard tokens create --name NAME`")
        if row.revoked_at is not None:
            raise UnauthenticatedError(f"the API token '{row.name}' (id {row.id}) was revoked",
                                       hint="create a new one with `shipyard tokens create --name NAME`")
        if row.expires_at is not None and row.expires_at <= now:
            raise UnauthenticatedError(f"the API token '{row.name}' (id {row.id}) expired at "
                                       f"{row.expires_at:%Y-%m-%d %H:%M:%S} UTC",
                                       hint="create a new one with `shipyard tokens create --name NAME`")
        if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
            row.last_used_at = now
        return load_identity(row.identity, session=session)
