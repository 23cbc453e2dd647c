"""Who is calling: a bearer token resolved to an identity, under which the plane functions run.

Every route except the health check and the OpenAPI document depends on :func:`caller`. With
authentication off (``create_app(require_auth=False)``, only for a server on loopback) a request
acts as the local identity, as the CLI does in-process.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import Request

LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


@dataclass(frozen=True)
class Caller:
    """The identity a request acts as, and its name for the ``actor`` of plane functions."""

    name: str
    identity: Any | None

    @contextlib.contextmanager
    def acting(self) -> Iterator[None]:
        """Run the block as this identity, so that plane functions authorize and audit it."""
        if self.identity is None:
            yield
            return
        from shipyard.governance.identity import acting_as

        with acting_as(self.identity):
            yield


def is_loopback(host: str) -> bool:
    return host in LOOPBACK_HOSTS or host.startswith("127.")


def caller(request: Request) -> Caller:
    """The request's identity: its bearer token's, or the local one when the app does not require auth."""
    if not request.app.state.require_auth:
        return _local_caller()
    from shipyard.errors import UnauthenticatedError
    from shipyard.governance.tokens import authenticate_bearer

    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise UnauthenticatedError("this route needs an 'Authorization: Bearer TOKEN' header",
                                   headline="not authenticated",
                                   hint="create a token with `shipyard tokens create` and send it as a bearer token")
    identity = authenticate_bearer(token.strip(), settings=request.app.state.settings)
    return Caller(name=identity.name, identity=identity)


def _local_caller() -> Caller:
    from shipyard.governance import identity as identities

    local_identity = getattr(identities, "local_identity", None)
    if local_identity is None:  # a governance plane without identities: the actor is the local login
        return Caller(name=identities.current_actor(), identity=None)
    identity = local_identity()
    return Caller(name=identity.name, identity=identity)
