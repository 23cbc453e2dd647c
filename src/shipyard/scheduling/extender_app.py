"""The extender over HTTP (FastAPI): ``POST /filter``, ``/prioritize`` and ``/preempt``, and ``GET /healthz``.

A request the extender cannot read answers 400 with an RFC 9457 problem document.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from shipyard.errors import ShipyardError, UsageError
from shipyard.scheduling.extender import Extender

PROBLEM = "application/problem+json"


def _problem(error: ShipyardError) -> JSONResponse:
    body = {"type": "urn:shipyard:problem:usage", "title": error.headline, "status": 400, "detail": error.message,
            "hint": error.hint}
    return JSONResponse(body, status_code=400, media_type=PROBLEM)


async def _body(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except ValueError as exc:
        raise UsageError(f"the request body is not JSON: {exc}", hint="post the JSON the kube-scheduler sends") from None


def create_app(extender: Extender) -> FastAPI:
    app = FastAPI(title="shipyard scheduler extender", version="1")
    app.add_exception_handler(ShipyardError, lambda request, error: _problem(error))

    @app.post("/filter", summary="ExtenderArgs -> ExtenderFilterResult")
    async def filter_nodes(request: Request) -> JSONResponse:
        return JSONResponse(extender.filter(await _body(request)))

    @app.post("/prioritize", summary="ExtenderArgs -> HostPriorityList")
    async def prioritize(request: Request) -> JSONResponse:
        return JSONResponse(extender.prioritize(await _body(request)))

    @app.post("/preempt", summary="ExtenderPreemptionArgs -> ExtenderPreemptionResult")
    async def preempt(request: Request) -> JSONResponse:
        return JSONResponse(extender.preempt(await _body(request)))

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "policy": extender.policy_name}

    return app
