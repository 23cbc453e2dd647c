"""The gateway's HTTP app: Open Inference Protocol (V2) and MLflow-compatible endpoints."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from shipyard import __version__
from shipyard.serving.batching import Batcher
from shipyard.serving.errors import RequestError
from shipyard.serving.loaded import LoadedVersion
from shipyard.serving.metrics import GatewayMetrics
from shipyard.serving.protocols import mlflow_columns, split_binary_request, v2_columns, v2_outputs
from shipyard.serving.validation import validate_columns

DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024
_V2_TYPES = {"long": "INT64", "integer": "INT32", "double": "FP64", "float": "FP32", "string": "BYTES",
             "boolean": "BOOL"}
ARM = "stable"


class Gateway:
    """The models a gateway process serves, one stable version per model name."""

    def __init__(self, versions: list[LoadedVersion]):
        self.by_name = {v.model: v for v in versions}

    def resolve(self, model: str, version: str | None = None) -> LoadedVersion:
        loaded = self.by_name.get(model)
        if loaded is None:
            raise RequestError(404, f"unknown model '{model}'; this gateway serves: "
                                    f"{', '.join(sorted(self.by_name)) or 'nothing'}")
        if version is not None and version != loaded.version:
            raise RequestError(404, f"model '{model}' version {version} is not served here; "
                                    f"version {loaded.version} is")
        return loaded


async def _raw_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise RequestError(413, f"the body is {declared} bytes; the limit is {limit}")
    raw = await request.body()
    if len(raw) > limit:
        raise RequestError(413, f"the body is {len(raw)} bytes; the limit is {limit}")
    return raw


def _parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise RequestError(400, f"the body is not valid JSON: {exc}") from None


async def _json_body(request: Request, limit: int) -> Any:
    return _parse_json(await _raw_body(request, limit))


def create_app(versions: list[LoadedVersion], *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
               max_batch_rows: int = 64, max_batch_wait_us: int = 500) -> FastAPI:
    gateway = Gateway(versions)
    metrics = GatewayMetrics()
    batchers = {
        v.model: Batcher(v.predict, max_rows=max_batch_rows, max_wait_us=max_batch_wait_us,
                         on_batch=metrics.batch_rows.labels(v.model, v.version).observe)
        for v in versions}
    app = FastAPI(title="shipyard gateway", version=__version__)
    app.state.gateway, app.state.metrics = gateway, metrics

    @app.exception_handler(RequestError)
    async def _refused(request: Request, exc: RequestError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status)

    async def served(loaded: LoadedVersion, protocol: str, columns: dict[str, list], started: float,
                     request_id: str) -> tuple[dict[str, Any], dict[str, str]]:
        rows = validate_columns(columns, loaded.signature)
        outputs = await batchers[loaded.model].submit(loaded.frame(columns))
        elapsed = time.perf_counter() - started
        metrics.latency.labels(loaded.model, loaded.version, ARM, protocol).observe(elapsed)
        metrics.requests.labels(loaded.model, loaded.version, ARM, protocol, "200").inc()
        metrics.rows.labels(loaded.model, loaded.version).observe(rows)
        headers = {"x-shipyard-model": loaded.model, "x-shipyard-model-version": loaded.version,
                   "x-shipyard-arm": ARM, "x-request-id": request_id}
        return outputs, headers

    def failed(loaded: LoadedVersion | None, protocol: str, error: RequestError) -> None:
        labels = (loaded.model, loaded.version) if loaded else ("unknown", "")
        metrics.errors.labels(*labels, ARM, protocol, str(error.status)).inc()

    @app.get("/v2")
    async def server_metadata() -> dict:
        return {"name": "shipyard", "version": __version__, "extensions": []}

    @app.get("/v2/health/live")
    async def live() -> dict:
        return {"live": True}

    @app.get("/v2/health/ready")
    async def ready() -> JSONResponse:
        ok = bool(gateway.by_name)
        return JSONResponse({"ready": ok}, status_code=200 if ok else 503)

    def model_metadata(loaded: LoadedVersion) -> dict:
        outputs = [{"name": "predict", "datatype": "BYTES", "shape": [-1]}]
        if hasattr(loaded.estimator, "predict_proba"):
            outputs.append({"name": "predict_proba", "datatype": "FP64", "shape": [-1, -1]})
        return {"name": loaded.model, "versions": [loaded.version], "platform": "shipyard",
                "inputs": [{"name": n, "datatype": _V2_TYPES.get(t, "BYTES"), "shape": [-1]}
                           for n, t in loaded.signature.items()],
                "outputs": outputs}

    @app.get("/v2/models/{model}")
    async def metadata(model: str) -> dict:
        return model_metadata(gateway.resolve(model))

    @app.get("/v2/models/{model}/versions/{version}")
    async def version_metadata(model: str, version: str) -> dict:
        return model_metadata(gateway.resolve(model, version))

    @app.get("/v2/models/{model}/ready")
    async def model_ready(model: str) -> dict:
        return {"name": model, "ready": gateway.resolve(model) is not None}

    @app.get("/v2/models/{model}/versions/{version}/ready")
    async def version_ready(model: str, version: str) -> dict:
        return {"name": model, "ready": gateway.resolve(model, version) is not None}

    async def infer(request: Request, model: str, version: str | None) -> JSONResponse:
        started = time.perf_counter()
        loaded = None
        try:
            loaded = gateway.resolve(model, version)
            header, binary = split_binary_request(await _raw_body(request, max_body_bytes),
                                                  request.headers.get("inference-header-content-length"))
            body = _parse_json(header)
            columns, requested = v2_columns(body, binary)
            request_id = str(body.get("id") or uuid.uuid4())
            outputs, headers = await served(loaded, "v2", columns, started, request_id)
            response = {"model_name": loaded.model, "model_version": loaded.version,
                        "outputs": v2_outputs(outputs, requested)}
            if body.get("id") is not None:
                response["id"] = body["id"]
            return JSONResponse(response, headers=headers)
        except RequestError as error:
            failed(loaded, "v2", error)
            raise

    @app.post("/v2/models/{model}/infer")
    async def infer_latest(request: Request, model: str) -> JSONResponse:
        return await infer(request, model, None)

    @app.post("/v2/models/{model}/versions/{version}/infer")
    async def infer_version(request: Request, model: str, version: str) -> JSONResponse:
        return await infer(request, model, version)

    @app.post("/models/{model}/invocations")
    async def invocations(request: Request, model: str) -> JSONResponse:
        started = time.perf_counter()
        loaded = None
        try:
            loaded = gateway.resolve(model)
            body = await _json_body(request, max_body_bytes)
            columns = mlflow_columns(body, loaded.columns)
            outputs, headers = await served(loaded, "mlflow", columns, started,
                                      request.headers.get("x-request-id") or str(uuid.uuid4()))
            return JSONResponse({"predictions": outputs["predict"].tolist()}, headers=headers)
        except RequestError as error:
            failed(loaded, "mlflow", error)
            raise

    @app.get("/metrics")
    async def prometheus() -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        for v in versions:
            metrics.queue_depth.labels(v.model, v.version).set(batchers[v.model].depth)
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app
