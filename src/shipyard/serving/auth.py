"""Requiring a token on the gateway: inference and ``/metrics`` are separate scopes, checked in memory.

The guard keeps every API token's grant keyed by the token's SHA-256 and refreshes it on the
deployment poll's cadence, reading the tokens again only when the store says they changed (one
aggregate row per poll). A request then costs one hash and one dict lookup, never a database
round trip. Expiry is compared with the clock on every request, so an expired token is refused
the moment it expires; a revoked one within one poll interval. The health endpoints, ``/v2`` and
the OpenAPI document stay open.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shipyard.config import Settings, gateway_scopes
from shipyard.governance.token_grants import Grant, grants_revision, read_grants
from shipyard.serving.errors import RequestError
from shipyard.serving.periodic import Periodic

if TYPE_CHECKING:
    from shipyard.serving.metrics import GatewayMetrics

FULL_RELOAD_S = 60.0
"""The grants are read whole at least this often, whatever the revision says."""
_REALM = 'Bearer realm="shipyard gateway"'
_CREATE_HINT = "create one: shipyard tokens create --name NAME --for svc:NAME --scope {scope}"


def needed_scope(path: str) -> tuple[str | None, str | None]:
    """The scope a request path needs (None: open) and, for inference, the model it names."""
    if path.startswith("/v2/models/"):
        return "inference", path[11:].partition("/")[0]
    if path.startswith("/models/"):
        return "inference", path[8:].partition("/")[0]
    if path == "/metrics":
        return "metrics", None
    return None, None


@dataclass(frozen=True)
class Refusal:
    error: RequestError
    challenge: str
    """The ``WWW-Authenticate`` header (RFC 6750)."""


class TokenGuard:
    def __init__(self, required: Collection[str], *, settings: Settings, refresh_interval_s: float = 0.25,
                 metrics: GatewayMetrics | None = None):
        self.required = frozenset(gateway_scopes(",".join(required), "the required token scopes"))
        self.settings = settings
        self.refresh_interval_s = refresh_interval_s
        self._grants: dict[str, Grant] = {}
        self._revision: tuple | None = None
        self._read_at = 0.0
        self.refresh()  # a gateway that cannot read the tokens does not start: it would refuse everyone
        self._loop = Periodic("token-guard", refresh_interval_s, self.refresh,
                              "could not read API tokens; keeping the last known ones (expiry is still checked)", metrics)
        self.start, self.stop = self._loop.start, self._loop.stop

    def refresh(self) -> bool:
        """Read the tokens again if they changed (or :data:`FULL_RELOAD_S` passed); whether they were read."""
        revision = grants_revision(settings=self.settings)
        if revision == self._revision and time.monotonic() - self._read_at < FULL_RELOAD_S:
            return False
        self._grants = read_grants(settings=self.settings)
        self._revision, self._read_at = revision, time.monotonic()
        return True

    def refusal(self, authorization: bytes | None, scope: str, model: str | None) -> Refusal | None:
        """Why a request with this ``Authorization`` header may not use ``scope`` (on ``model``); None: it may."""
        scheme, _, credential = (authorization or b"").partition(b" ")
        credential = credential.strip()
        if scheme.lower() != b"bearer" or not credential:
            return _unauthenticated(scope, f"this gateway requires a bearer token with the {scope} scope",
                                    "send it as `Authorization: Bearer TOKEN`; " + _CREATE_HINT.format(scope=scope),
                                    presented=authorization is not None)
        grant = self._grants.get(hashlib.sha256(credential).hexdigest())
        if grant is None:
            return _unauthenticated(scope, "the bearer token is not known to this gateway",
                                    "check it; " + _CREATE_HINT.format(scope=scope))
        if grant.revoked:
            return _unauthenticated(scope, f"the token '{grant.name}' (id {grant.token_id}) was revoked",
                                    _CREATE_HINT.format(scope=scope))
        if grant.expires_at is not None and grant.expires_at <= time.time():
            return _unauthenticated(scope, f"the token '{grant.name}' (id {grant.token_id}) expired",
                                    _CREATE_HINT.format(scope=scope))
        if scope in grant.scopes or (model is not None and f"{scope}:{model}" in grant.scopes):
            return None
        wanted = scope if model is None else f"{scope} or {scope}:{model}"
        granted = ", ".join(sorted(grant.scopes)) or "none"
        return Refusal(RequestError(403, f"the token '{grant.name}' of {grant.identity} does not grant {wanted} "
                                         f"(its scopes: {granted})",
                                    [{"field": "authorization", "message": f"lacks the {wanted} scope"}],
                                    hint=_CREATE_HINT.format(scope=scope if model is None else f"{scope}:{model}")),
                       f'{_REALM}, error="insufficient_scope", scope="{scope}"')


def _unauthenticated(scope: str, message: str, hint: str, *, presented: bool = True) -> Refusal:
    challenge = _REALM + (', error="invalid_token"' if presented else "")
    return Refusal(RequestError(401, message, [{"field": "authorization", "message": message}], hint=hint),
                   challenge)


class TokenRequirement:
    """A pure ASGI middleware refusing, before any route runs, the requests the guard refuses."""

    def __init__(self, app, guard: TokenGuard):
        self.app, self.guard, self.required = app, guard, guard.required

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            needed, model = needed_scope(scope["path"])
            if needed is not None and needed in self.required:
                authorization = None
                for name, value in scope["headers"]:
                    if name == b"authorization":
                        authorization = value
                        break
                refused = self.guard.refusal(authorization, needed, model)
                if refused is not None:
                    body = json.dumps(refused.error.body()).encode()
                    await send({"type": "http.response.start", "status": refused.error.status,
                                "headers": [(b"content-type", b"application/json"),
                                            (b"content-length", str(len(body)).encode()),
                                            (b"www-authenticate", refused.challenge.encode())]})
                    await send({"type": "http.response.body", "body": body})
                    return
        await self.app(scope, receive, send)
