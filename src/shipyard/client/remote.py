"""Whether the CLI talks to a server (``SHIPYARD_URL``), and turning its answers into the planes' own dataclasses.

A command asks :func:`remote_api`; ``None`` means in-process, and then nothing of the HTTP client is
imported. Answers are rebuilt into the dataclasses the plane functions return, so one renderer prints both.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, TypeVar

from shipyard.errors import UsageError

if TYPE_CHECKING:
    from shipyard.client.http import ApiClient

URL_VARIABLE = "SHIPYARD_URL"
T = TypeVar("T")


def server_url() -> str | None:
    """``SHIPYARD_URL`` normalized, or ``None`` when unset (in-process use)."""
    url = os.environ.get(URL_VARIABLE, "").strip()
    if not url:
        return None
    from shipyard.client.credentials import normalize_url

    return normalize_url(url)


def remote_api() -> ApiClient | None:
    """A client of the server ``SHIPYARD_URL`` names, with its token; ``None`` when it is unset."""
    url = server_url()
    if url is None:
        return None
    from shipyard.client.credentials import token_for
    from shipyard.client.http import ApiClient

    return ApiClient(url, token_for(url))


def segment(value: str | int) -> str:
    """``value`` as one path segment of a URL."""
    from urllib.parse import quote

    return quote(str(value), safe="")


def rebuild(kind: type[T], data: Any) -> T:
    """``data`` (an API answer) as ``kind``, a plane's dataclass; fields it lacks take their defaults."""
    from pydantic import TypeAdapter

    return TypeAdapter(kind).validate_python(data)


def same_actor(given: str | None, api: ApiClient, option: str = "--actor") -> None:
    """Through a server the token names who acts; refuse a different name given on the command line."""
    if not given:
        return
    name = api.get("/me")["name"]
    if given != name:
        raise UsageError(f"{option} {given} differs from the identity your token authenticates ({name}); through a "
                         "server the token says who acts", hint=f"leave out {option}, or log in with {given}'s "
                                                               f"token: shipyard login {api.url} --token TOKEN")
