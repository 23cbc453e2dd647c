"""The gateway's HTTP app: Open Inference Protocol (V2) and MLflow-compatible endpoints."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from shipyard import __version__
from shipyard.serving.errors import RequestError
from shipyard.serving.gateway import Gateway
from shipyard.serving.loaded import LoadedVersion
from shipyard.serving.prediction_log import PredictionRecord
from shipyard.serving.protocols import mlflow_columns, split_binary_request, v2_columns, v2_outputs
from shipyard.serving.routing import Route
from shipyard.serving.validation import validate_columns

DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024
_V2_TYPES = {"long": "INT64", "integer": "INT32", "double": "FP64", "float": "FP32", "string": "BYTES",
             "boolean": "BOOL"}


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


def create_app(served: list[LoadedVersion] | Gateway, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
               max_batch_rows: int = 64, max_batch_wait_us: int = 0, shadow_backlog: int = 256) -> FastAPI:
    """The HTTP app over a :class:`Gateway` (or fixed versions, one per model)."""
    gateway = served if isinstance(served, Gateway) else Gateway.pinned(
        served, max_batch_rows=max_batch_rows, max_batch_wait_us=max_batch_wait_us)
    metrics = gateway.metrics
    if gateway.prediction_log is not None:
        metrics.watch_prediction_log(gateway.prediction_log)
    shadow_tasks: set[asyncio.Task] = set()

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):
        gateway.start()
        try:
            yield
        finally:
            if shadow_tasks:
                await asyncio.wait(list(shadow_tasks), timeout=5)
            gateway.stop()

    app = FastAPI(title="shipyard gateway", version=__version__, lifespan=lifespan)
    app.state.gateway, app.state.metrics = gateway, metrics

    @app.exception_handler(RequestError)
    async def _refused(request: Request, exc: RequestError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status)

    def logged(loaded: LoadedVersion, arm: str, protocol: str, request_id: str, columns: dict[str, list],
               outputs: dict[str, Any], latency_s: float) -> None:
        log = gateway.prediction_log
        if log is not None and not log.offer(PredictionRecord(
                request_id=request_id, timestamp=time.time(), model=loaded.model, version=loaded.version, arm=arm,
                protocol=protocol, latency_ms=latency_s * 1000, features=columns, outputs=outputs)) \
                and getattr(log, "refuses_unlogged", False):
            raise RequestError(503, f"the prediction of {loaded.model} version {loaded.version} could not be "
                                    "written to the durable prediction log, so it is not answered; the gateway's "
                                    "log says why (a full disk?)")

    async def predicted(loaded: LoadedVersion, arm: str, protocol: str, columns: dict[str, list], started: float,
                        request_id: str) -> dict[str, Any]:
        rows = validate_columns(columns, loaded.signature)
        try:
            outputs = await gateway.batcher(loaded).submit(loaded.prepare(columns))
        except Exception as exc:
            gateway.stats.record(loaded.model, loaded.version, arm, time.perf_counter() - started, False)
            raise RequestError(500, f"{loaded.model} version {loaded.version} ({arm} arm) failed to predict: "
                                    f"{type(exc).__name__}: {exc}") from None
        elapsed = time.perf_counter() - started
        gateway.stats.record(loaded.model, loaded.version, arm, elapsed, True, str(outputs["predict"][0]))
        metrics.latency.labels(loaded.model, loaded.version, arm, protocol).observe(elapsed)
        metrics.requests.labels(loaded.model, loaded.version, arm, protocol, "200").inc()
        metrics.rows.labels(loaded.model, loaded.version).observe(rows)
        logged(loaded, arm, protocol, request_id, columns, outputs, elapsed)
        return outputs

    async def shadowed(shadow: LoadedVersion, protocol: str, columns: dict[str, list], request_id: str) -> None:
        started = time.perf_counter()
        try:
            await predicted(shadow, "shadow", protocol, columns, started, request_id)
        except RequestError as error:
            metrics.errors.labels(shadow.model, shadow.version, "shadow", protocol, str(error.status)).inc()
        except Exception:  # nothing about a shadow may reach the real response
            metrics.errors.labels(shadow.model, shadow.version, "shadow", protocol, "500").inc()

    def mirror(route: Route, protocol: str, columns: dict[str, list], request_id: str) -> None:
        shadow = route.mirror()
        if shadow is None:
            return
        if gateway.batcher(shadow).depth > shadow_backlog:
            metrics.shadow_skipped.labels(shadow.model, shadow.version).inc()
            return
        task = asyncio.get_running_loop().create_task(shadowed(shadow, protocol, columns, request_id))
        shadow_tasks.add(task)
        task.add_done_callback(shadow_tasks.discard)

    async def served(route: Route, version: str | None, protocol: str, request: Request, columns: dict[str, list],
                     parameters: dict[str, Any], started: float, request_id: str
                     ) -> tuple[LoadedVersion, dict[str, Any], dict[str, str]]:
        if version is None:
            arm, loaded = route.pick(route.key_of(request.headers, columns, parameters))
        else:
            picked = route.by_version(version)
            if picked is None:
                served_versions = ", ".join(f"{v.version} ({a})" for a, v in route.arms().items())
                raise RequestError(404, f"model '{route.model}' version {version} is not served here; "
                                        f"served versions: {served_versions}")
            arm, loaded = picked
        try:
            outputs = await predicted(loaded, arm, protocol, columns, started, request_id)
        except RequestError as error:
            metrics.errors.labels(loaded.model, loaded.version, arm, protocol, str(error.status)).inc()
            raise
        if version is None:
            mirror(route, protocol, columns, request_id)
        headers = {"x-shipyard-model": loaded.model, "x-shipyard-model-version": loaded.version,
                   "x-shipyard-arm": arm, "x-request-id": request_id}
        return loaded, outputs, headers

    def refused(route: Route | None, protocol: str, error: RequestError) -> None:
        """Count a refusal that happened before an arm was picked."""
        if route is None:
            metrics.errors.labels("unknown", "", "", protocol, str(error.status)).inc()
        elif error.status in (400, 413):
            metrics.errors.labels(route.model, route.stable.version, "", protocol, str(error.status)).inc()

    @app.get("/v2")
    async def server_metadata() -> dict:
        return {"name": "shipyard", "version": __version__, "extensions": ["binary_tensor_data"]}

    @app.get("/v2/health/live")
    async def live() -> dict:
        return {"live": True}

    @app.get("/v2/health/ready")
    async def ready() -> JSONResponse:
        ok = bool(gateway.routes)
        return JSONResponse({"ready": ok}, status_code=200 if ok else 503)

    def model_metadata(route: Route, loaded: LoadedVersion) -> dict:
        outputs = [{"name": "predict", "datatype": "BYTES", "shape": [-1]}]
        if hasattr(loaded.estimator, "predict_proba"):
            outputs.append({"name": "predict_proba", "datatype": "FP64", "shape": [-1, -1]})
        return {"name": loaded.model, "versions": sorted({v.version for v in route.arms().values()}, key=int),
                "platform": "shipyard",
                "inputs": [{"name": n, "datatype": _V2_TYPES.get(t, "BYTES"), "shape": [-1]}
                           for n, t in loaded.signature.items()],
                "outputs": outputs}

    def version_of(model: str, version: str) -> tuple[Route, LoadedVersion]:
        route = gateway.route(model)
        picked = route.by_version(version)
        if picked is None:
            raise RequestError(404, f"model '{model}' version {version} is not served here")
        return route, picked[1]

    @app.get("/v2/models/{model}")
    async def metadata(model: str) -> dict:
        route = gateway.route(model)
        return model_metadata(route, route.stable)

    @app.get("/v2/models/{model}/versions/{version}")
    async def version_metadata(model: str, version: str) -> dict:
        return model_metadata(*version_of(model, version))

    @app.get("/v2/models/{model}/ready")
    async def model_ready(model: str) -> dict:
        return {"name": model, "ready": gateway.route(model) is not None}

    @app.get("/v2/models/{model}/versions/{version}/ready")
    async def version_ready(model: str, version: str) -> dict:
        return {"name": model, "ready": version_of(model, version) is not None}

    async def infer(request: Request, model: str, version: str | None) -> JSONResponse:
        started = time.perf_counter()
        route = None
        try:
            route = gateway.route(model) if version is None else version_of(model, version)[0]
            header, binary = split_binary_request(await _raw_body(request, max_body_bytes),
                                                  request.headers.get("inference-header-content-length"))
            body = _parse_json(header)
            columns, requested = v2_columns(body, binary)
            request_id = str(body.get("id") or uuid.uuid4())
            parameters = body.get("parameters") if isinstance(body.get("parameters"), dict) else {}
            loaded, outputs, headers = await served(route, version, "v2", request, columns, parameters, started,
                                                    request_id)
            response = {"model_name": loaded.model, "model_version": loaded.version,
                        "outputs": v2_outputs(outputs, requested)}
            if body.get("id") is not None:
                response["id"] = body["id"]
            return JSONResponse(response, headers=headers)
        except RequestError as error:
            refused(route, "v2", error)
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
        route = None
        try:
            route = gateway.route(model)
            body = await _json_body(request, max_body_bytes)
            columns = mlflow_columns(body, route.stable.columns)
            parameters = body.get("params") if isinstance(body, dict) and isinstance(body.get("params"), dict) else {}
            _, outputs, headers = await served(route, None, "mlflow", request, columns, parameters, started,
                                               request.headers.get("x-request-id") or str(uuid.uuid4()))
            return JSONResponse({"predictions": outputs["predict"].tolist()}, headers=headers)
        except RequestError as error:
            refused(route, "mlflow", error)
            raise

    @app.get("/metrics")
    async def prometheus() -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        for (model, version), batcher in list(gateway.batchers.items()):
            metrics.queue_depth.labels(model, version).set(batcher.depth)
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app
