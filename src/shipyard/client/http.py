"""``ApiClient``: the ``/api/v1`` API over HTTP, its problem answers raised as the error tree's own kinds.

A problem's ``type`` names the error class (``urn:shipyard:problem:not-found`` is :class:`NotFoundError`),
so the CLI prints the same headline, message and hint, and exits with the same code, as in-process.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx

from shipyard.errors import (BackendError, ShipyardError, UnauthenticatedError, UsageError, kind_for_slug)

API_PREFIX = "/api/v1"
TYPE_PREFIX = "urn:shipyard:problem:"
PAGE_SIZE = 500
CONNECT_TIMEOUT_S = 10.0
ANSWER_TIMEOUT_S = 300.0
"""Evaluating gates or starting a run on a busy server takes a while; a server that does not connect fails fast."""


class ApiClient:
    """A client of one server; ``token`` (an API token or OIDC JWT) is sent as a bearer token when given."""

    def __init__(self, url: str, token: str | None = None, *, timeout_s: float = ANSWER_TIMEOUT_S):
        self.url = url.rstrip("/")
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(base_url=self.url + API_PREFIX, headers=headers,
                                  timeout=httpx.Timeout(timeout_s, connect=min(CONNECT_TIMEOUT_S, timeout_s)))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: dict[str, Any] | None = None, **params: Any) -> Any:
        return self.request("POST", path, params=params, body=body if body is not None else {})

    def put(self, path: str, body: dict[str, Any], **params: Any) -> Any:
        return self.request("PUT", path, params=params, body=body)

    def pages(self, path: str, *, page_size: int | None = None, **params: Any) -> Iterator[Any]:
        """Every item of a paginated list, fetched a page at a time as the caller reads on."""
        offset: int | None = 0
        while offset is not None:
            page = self.get(path, **params, offset=offset, limit=min(page_size or PAGE_SIZE, PAGE_SIZE))
            yield from page["items"]
            offset = page.get("next_offset")

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                body: dict[str, Any] | None = None) -> Any:
        query = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = self._http.request(method, path, params=query, json=body)
        except httpx.TimeoutException:
            raise BackendError(f"the shipyard server at {self.url} did not answer {method} {API_PREFIX}{path} in "
                               "time", headline="server not answering",
                               hint="is `shipyard server` running and healthy? is SHIPYARD_URL right?") from None
        except httpx.TransportError as exc:
            raise BackendError(f"cannot reach the shipyard server at {self.url}: {exc or type(exc).__name__}",
                               headline="server unreachable",
                               hint="is `shipyard server` running? is SHIPYARD_URL right?") from None
        if response.is_success:
            return response.json() if response.content else None
        raise self._error(response)

    def _error(self, response: httpx.Response) -> ShipyardError:
        try:
            problem = response.json()
        except ValueError:
            problem = None
        if not isinstance(problem, dict) or not str(problem.get("type", "")).startswith(TYPE_PREFIX):
            return BackendError(f"the server at {self.url} answered {response.status_code} "
                                f"{response.reason_phrase} to {response.request.method} {response.request.url.path}, "
                                "not a shipyard problem document", headline="unexpected answer",
                                hint="is SHIPYARD_URL the address of a shipyard server?")
        slug = problem["type"].removeprefix(TYPE_PREFIX)
        title, detail, hint = problem.get("title"), str(problem.get("detail", "")), problem.get("hint")
        if response.status_code == 401:
            return UnauthenticatedError(detail, headline=title,
                                        hint=f"log in: shipyard login {self.url} --token TOKEN")
        kind = kind_for_slug(slug)
        if kind is not None and slug != "internal":
            return _build(kind, detail, title, hint)
        if slug == "invalid-request":
            return UsageError(detail, headline=title, hint=hint)
        if slug in ("unknown-route", "method-not-allowed"):
            return BackendError(f"the server at {self.url} does not offer this: {detail}",
                                headline="server lacks this route",
                                hint="the server may run an older shipyard; upgrade it to match this client")
        return BackendError(f"the server at {self.url} failed: {detail}", headline=title or "server failure",
                            hint=hint or "the server's log has the details")


def _build(kind: type[ShipyardError], detail: str, title: str | None, hint: str | None) -> ShipyardError:
    try:
        return kind(detail, headline=title, hint=hint)
    except TypeError:  # a kind with a different constructor: keep the words, lose the class
        return ShipyardError(detail, headline=title, hint=hint)
