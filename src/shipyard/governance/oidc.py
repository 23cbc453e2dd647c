"""OpenID Connect: bearer JWTs signed by the configured issuer, verified against its JWKS.

The name is ``preferred_username`` (else ``sub``); team roles come from the roles claim
(``groups`` unless ``SHIPYARD_OIDC_ROLES_CLAIM`` says otherwise) as ``team:role`` strings,
and ``platform:admin`` makes a platform admin. Values in other shapes are ignored.
"""

from __future__ import annotations

import threading

import jwt

from shipyard.config import Settings
from shipyard.errors import UnauthenticatedError
from shipyard.governance.identity import ROLES, Identity

ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "PS256")
PLATFORM_ADMIN = "platform:admin"

_clients: dict[str, jwt.PyJWKClient] = {}
_lock = threading.Lock()


def _client(url: str) -> jwt.PyJWKClient:
    client = _clients.get(url)
    if client is None:
        with _lock:
            client = _clients.setdefault(url, jwt.PyJWKClient(url, cache_keys=True, lifespan=300, timeout=10))
    return client


def authenticate_jwt(token: str, *, settings: Settings) -> Identity:
    try:
        key = _client(settings.oidc_jwks_url).get_signing_key_from_jwt(token)
        claims = jwt.decode(token, key.key, algorithms=list(ALGORITHMS), audience=settings.oidc_audience,
                            issuer=settings.oidc_issuer, options={"require": ["exp", "iss", "aud", "sub"]})
    except jwt.PyJWKClientConnectionError as exc:
        raise UnauthenticatedError(f"the issuer's keys at {settings.oidc_jwks_url} could not be fetched: {exc}",
                                   hint="check SHIPYARD_OIDC_JWKS_URL and that the issuer is reachable") from None
    except jwt.PyJWKClientError as exc:
        raise UnauthenticatedError(f"the JWT's signing key is not among the issuer's keys: {exc}",
                                   hint=f"use a token issued by {settings.oidc_issuer}") from None
    except jwt.ExpiredSignatureError:
        raise UnauthenticatedError("the JWT has expired", hint="sign in again for a fresh token") from None
    except jwt.InvalidAudienceError:
        raise UnauthenticatedError(f"the JWT is not meant for this platform (audience {settings.oidc_audience})",
                                   hint="request a token for that audience from the issuer") from None
    except jwt.InvalidIssuerError:
        raise UnauthenticatedError(f"the JWT was not issued by {settings.oidc_issuer}",
                                   hint="use a token from the configured issuer (SHIPYARD_OIDC_ISSUER)") from None
    except jwt.InvalidTokenError as exc:
        raise UnauthenticatedError(f"the JWT does not verify: {exc}", hint="sign in again for a fresh token") from None
    name = str(claims.get("preferred_username") or claims["sub"])
    roles, platform_admin = _roles(claims.get(settings.oidc_roles_claim))
    return Identity(name=name, kind="user", roles=roles, platform_admin=platform_admin, authenticated=True)


def _roles(values) -> tuple[dict[str, str], bool]:
    if isinstance(values, str):
        values = [values]
    roles: dict[str, str] = {}
    platform_admin = False
    for value in values if isinstance(values, list) else []:
        if value == PLATFORM_ADMIN:
            platform_admin = True
            continue
        team, _, role = str(value).rpartition(":")
        if team and role in ROLES and ROLES.index(role) >= ROLES.index(roles.get(team, "viewer")):
            roles[team] = role  # the highest of several roles in one team
    return roles, platform_admin
