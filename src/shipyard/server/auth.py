"""Who is calling: a bearer token resolved to an identity, under which the plane functions run.

Every route except the health check and the OpenAPI document depends on :func:`caller`. With
authentication off (``create_app(require_auth=False)``, only for a server on loopback) a request
acts as the local identity, as the CLI does in-process.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from fastapi import Depends, Request

from shipyard.errors import UnauthenticatedError
from shipyard.governance.identity import Identity, acting_as, local_identity
from shipyard.governance.policy import authorize
from shipyard.governance.tokens import authenticate_bearer

LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
READ_METHODS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True)
class Caller:
    """The identity a request acts as."""

    identity: Identity

    @property
    def name(self) -> str:
        """The ``actor`` that plane functions record (they record the acting identity's name in any case)."""
        return self.identity.name

    @contextlib.contextmanager
    def acting(self) -> Iterator[None]:
        """Run the block as this identity, so that plane functions authorize and audit it."""
        with acting_as(self.identity):
            yield


def is_loopback(host: str) -> bool:
    return host in LOOPBACK_HOSTS or host.startswith("127.")


def caller(request: Request) -> Caller:
    """The request's identity: its bearer token's, or the local one when the app does not require auth."""
    if not request.app.state.require_auth:
        return Caller(local_identity())
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise UnauthenticatedError("this route needs an 'Authorization: Bearer TOKEN' header",
                                   hint="create a token with `shipyard tokens create --name NAME` and send it as "
                                        "'Authorization: Bearer TOKEN'")
    return Caller(authenticate_bearer(token.strip(), settings=request.app.state.settings))


def reads(operation: str) -> Callable[..., None]:
    """A router dependency: its ``GET`` routes need ``operation`` (a read, open to a member of any team).

    Reads are authorized here, once per router, because they do not depend on which team owns what is
    read; changes are authorized by the plane functions, which know the owning team.
    """

    def authorize_read(request: Request, who: Caller = Depends(caller)) -> None:
        if request.method in READ_METHODS:
            authorize(who.identity, operation, team=None)

    return authorize_read
