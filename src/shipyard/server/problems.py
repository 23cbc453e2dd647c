"""Every error the API answers, as RFC 9457 problem details (``application/problem+json``).

``title`` is the error tree's headline, ``detail`` its message and ``hint`` what to do next. A
user's mistake maps to a 4xx by the kind of error; only a bug in shipyard answers 500.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from shipyard.errors import ShipyardError, kind_slug

MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:shipyard:problem:"

# By the error kind's class name, so that kinds added to the error tree later map without a change here.
STATUS_BY_KIND = {
    "UnauthenticatedError": 401,
    "ForbiddenError": 403,
    "NotFoundError": 404,
    "GateFailedError": 409,
    "TamperedError": 409,
    "CancelledError": 409,
    "RefusedError": 409,
    "NotEnoughDataError": 422,
    "DataError": 422,
    "UserCodeError": 422,
    "SpecError": 400,
    "UsageError": 400,
    "BackendError": 503,
}

log = logging.getLogger("shipyard.server")


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(description="A URI naming the kind of problem.", examples=["urn:shipyard:problem:not-found"])
    title: str = Field(description="Short summary: the error's headline.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="What went wrong, what is allowed, what to do next.")
    hint: str | None = Field(default=None, description="What to do about it.")
    errors: list[dict[str, Any]] | None = Field(default=None, description="Each invalid field of a request (422).")


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries declaring that a route answers these statuses with a problem document."""
    return {status: {"model": Problem, "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
                     "description": _DESCRIPTIONS.get(status, "problem")} for status in statuses}


_DESCRIPTIONS = {400: "bad request", 401: "no valid bearer token", 403: "forbidden", 404: "not found",
                 405: "method not allowed", 409: "refused in the current state", 422: "invalid request or data",
                 500: "internal error", 503: "a backend failed"}


def status_for(error: ShipyardError) -> int:
    for kind in type(error).__mro__:
        status = STATUS_BY_KIND.get(kind.__name__)
        if status is not None:
            return status
    return 500


def problem(status: int, *, title: str, detail: str, kind: str, hint: str | None = None,
            errors: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    body = Problem(type=TYPE_PREFIX + kind, title=title, status=status, detail=detail, hint=hint, errors=errors)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, media_type=MEDIA_TYPE,
                        headers=headers)


def install(app: FastAPI) -> None:
    """Answer every error (the error tree, validation, unknown routes and methods, bugs) as a problem."""

    @app.exception_handler(ShipyardError)
    async def shipyard_error(request: Request, exc: ShipyardError) -> JSONResponse:
        status = status_for(exc)
        if status >= 500:
            log.error("%s %s failed: %s", request.method, request.url.path, exc.render())
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return problem(status, title=exc.headline, detail=exc.message, hint=exc.hint,
                       kind=kind_slug(type(exc).__name__), headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": [str(part) for part in e.get("loc", ())], "msg": str(e.get("msg", "")),
                   "type": str(e.get("type", ""))} for e in exc.errors()]
        shown = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors[:5])
        return problem(422, title="invalid request", detail=f"the request does not match its schema: {shown}",
                       hint="the OpenAPI document at /openapi.json describes every route's parameters and body",
                       kind="invalid-request", errors=errors)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return problem(404, title="not found", kind="unknown-route",
                           detail=f"there is no route {request.url.path}",
                           hint="the routes are listed in the OpenAPI document at /openapi.json")
        if exc.status_code == 405:
            return problem(405, title="method not allowed", kind="method-not-allowed",
                           detail=f"{request.method} is not allowed on {request.url.path}",
                           hint="the OpenAPI document at /openapi.json lists each route's methods",
                           headers=dict(exc.headers or {}))
        return problem(exc.status_code, title=str(exc.detail), detail=str(exc.detail), kind="http",
                       headers=dict(exc.headers or {}) or None)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("%s %s failed with a bug in shipyard", request.method, request.url.path)
        return problem(500, title="internal error", kind="internal",
                       detail=f"this is a bug in shipyard ({type(exc).__name__}); the server's log has the traceback",
                       hint="please report it with the server's log")
