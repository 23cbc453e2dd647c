"""Who is acting.

Inside a server request (or a test) the identity is the authenticated one, set with
:func:`acting_as`. Anywhere else it is the local identity: in-process use on the machine
that holds the store, named by ``SHIPYARD_ACTOR`` when set (CI, services) or the login name,
and marked unauthenticated in every audit event it causes.
"""

from __future__ import annotations

import contextvars
import getpass
import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import MappingProxyType

ROLES = ("viewer", "developer", "approver", "admin")
KINDS = ("user", "service", "local")
SERVICE_PREFIX = "svc:"


@dataclass(frozen=True, kw_only=True)
class Identity:
    name: str
    """``alice``, ``svc:ci-bot`` for a service account, or the OS login for local use."""
    kind: str
    """``user``, ``service`` or ``local``."""
    roles: Mapping[str, str] = field(default_factory=dict)
    """Team -> role, the role one of :data:`ROLES`."""
    platform_admin: bool = False
    authenticated: bool = False
    """False only for in-process use without a server."""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"identity kind {self.kind!r} is not one of {', '.join(KINDS)}")
        unknown = {role for role in self.roles.values() if role not in ROLES}
        if unknown:
            raise ValueError(f"roles {sorted(unknown)} are not among {', '.join(ROLES)}")
        object.__setattr__(self, "roles", MappingProxyType(dict(self.roles)))

    @property
    def is_local(self) -> bool:
        return self.kind == "local" and not self.authenticated

    def __hash__(self) -> int:
        return hash((self.name, self.kind, frozenset(self.roles.items()), self.platform_admin, self.authenticated))

    def __reduce__(self):
        return (_rebuild, (self.name, self.kind, dict(self.roles), self.platform_admin, self.authenticated))


def _rebuild(name: str, kind: str, roles: dict[str, str], platform_admin: bool, authenticated: bool) -> Identity:
    return Identity(name=name, kind=kind, roles=roles, platform_admin=platform_admin, authenticated=authenticated)


_current: contextvars.ContextVar[Identity | None] = contextvars.ContextVar("shipyard_identity", default=None)


def _login_name() -> str:
    actor = os.environ.get("SHIPYARD_ACTOR")
    if actor:
        return actor
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def local_identity() -> Identity:
    """In-process use without a server: unauthenticated, allowed what the machine's user is allowed."""
    return Identity(name=_login_name(), kind="local")


def current_identity() -> Identity:
    return _current.get() or local_identity()


@contextmanager
def acting_as(identity: Identity) -> Iterator[Identity]:
    """Act as ``identity`` for the block (threads started with a copied context inherit it)."""
    token = _current.set(identity)
    try:
        yield identity
    finally:
        _current.reset(token)


def encode_identity(identity: Identity) -> str:
    """``identity`` as JSON, for a process that acts for it (a run the server started for its caller)."""
    return json.dumps({"name": identity.name, "kind": identity.kind, "roles": dict(identity.roles),
                       "platform_admin": identity.platform_admin, "authenticated": identity.authenticated},
                      sort_keys=True)


def decode_identity(text: str) -> Identity:
    """The identity :func:`encode_identity` wrote; ValueError when ``text`` is not one."""
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or not isinstance(data.get("roles"), dict):
            raise TypeError("expected an object with a 'roles' object")
        return Identity(name=data["name"], kind=data["kind"], roles=data["roles"],
                        platform_admin=bool(data["platform_admin"]), authenticated=bool(data["authenticated"]))
    except (TypeError, KeyError, json.JSONDecodeError) as exc:
        raise ValueError(f"not an encoded identity: {exc}") from None


def current_actor() -> str:
    return current_identity().name
