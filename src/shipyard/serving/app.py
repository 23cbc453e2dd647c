"""The gateway's HTTP app: Open Inference Protocol (V2) and MLflow-compatible endpoints."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from typing import Annotated, Any

from fastapi import FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.exceptions import HTTPException

from shipyard import __version__
from shipyard.serving.answers import SCOPE_KEY, AnswerCounter
from shipyard.serving.auth import TokenRequirement
from shipyard.serving.body import read_body
from shipyard.serving.errors import RequestError
from shipyard.serving.gateway import Gateway
from shipyard.serving.loaded import LoadedVersion
from shipyard.serving.openapi import INFER_ERRORS, add_request_bodies, error_responses, request_body
from shipyard.serving.prediction_log import PredictionRecord
from shipyard.serving.protocols import check_requested, mlflow_columns, split_binary_request, v2_columns, v2_outputs
from shipyard.serving.requests import (Liveness, MlflowRequest, MlflowResponse, ModelMetadata, ModelReadiness,
                                       Readiness, ServerMetadata, V2InferRequest, V2InferResponse, parse_body)
from shipyard.serving.routing import Route
from shipyard.serving.validation import validate_columns

DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024
_V2_TYPES = {"long": "INT64", "integer": "INT32", "double": "FP64", "float": "FP32", "string": "BYTES",
             "boolean": "BOOL"}
BinaryHeader = Annotated[str | None, Header(
    alias="inference-header-content-length",
    description="Binary tensor data extension: the byte length of the JSON part; the rest of the body holds "
                "the tensors that set parameters.binary_data_size.")]


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
    if gateway.guard is not None:  # inside the counter: refused requests are counted like every answer
        app.add_middleware(TokenRequirement, guard=gateway.guard)
    app.add_middleware(AnswerCounter, metrics=metrics)
    add_request_bodies(app, token_scopes=gateway.guard.required if gateway.guard is not None else frozenset())

    @app.exception_handler(RequestError)
    async def _refused(request: Request, exc: RequestError) -> JSONResponse:
        # past the limit the rest of the body is never read: close the connection instead of draining it
        headers = {"connection": "close"} if exc.status == 413 else None
        return JSONResponse(exc.body(), status_code=exc.status, headers=headers)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail), "errors": [{"field": "(path)", "message": str(exc.detail)}]},
                            status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        fields = [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()]
        return JSONResponse({"error": "the request's parameters are malformed", "errors": fields}, status_code=422)

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
        """Validate, then predict; only a valid request that fails in the model counts against the arm."""
        columns, rows = validate_columns(columns, loaded.signature, loaded.accepts_missing)
        try:
            prepared = loaded.prepare(columns)
        except (ValueError, TypeError, OverflowError) as exc:
            raise RequestError(422, f"the values cannot be given to {loaded.model} version {loaded.version}",
                               [{"field": "(columns)", "message": f"{type(exc).__name__}: {exc}"}]) from None
        try:
            outputs = await gateway.batcher(loaded).submit(prepared)
        except Exception as exc:
            gateway.stats.record(loaded.model, loaded.version, arm, time.perf_counter() - started, False)
            raise RequestError(500, f"{loaded.model} version {loaded.version} ({arm} arm) failed to predict: "
                                    f"{type(exc).__name__}: {exc}") from None
        elapsed = time.perf_counter() - started
        gateway.stats.record(loaded.model, loaded.version, arm, elapsed, True, str(outputs["predict"][0]))
        metrics.latency.labels(loaded.model, loaded.version, arm, protocol).observe(elapsed)
        metrics.rows.labels(loaded.model, loaded.version).observe(rows)
        logged(loaded, arm, protocol, request_id, columns, outputs, elapsed)
        return outputs

    async def shadowed(shadow: LoadedVersion, protocol: str, columns: dict[str, list], request_id: str) -> None:
        started, code = time.perf_counter(), "200"
        try:
            await predicted(shadow, "shadow", protocol, columns, started, request_id)
        except RequestError as error:
            code = str(error.status)
        except Exception:  # nothing about a shadow may reach the real response
            code = "500"
        metrics.requests.labels(shadow.model, shadow.version, "shadow", protocol, code).inc()
        if code != "200":
            metrics.errors.labels(shadow.model, shadow.version, "shadow", protocol, code).inc()

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

    def labelled(request: Request, arm: str, loaded: LoadedVersion) -> tuple[str, LoadedVersion]:
        answer = request.scope[SCOPE_KEY]
        answer.version, answer.arm = loaded.version, arm
        return arm, loaded

    def picked(route: Route, request: Request, columns: dict[str, list],
               parameters: dict[str, Any]) -> tuple[str, LoadedVersion]:
        return labelled(request, *route.pick(route.key_of(request.headers, columns, parameters)))

    def addressed(route: Route, version: str, request: Request) -> tuple[str, LoadedVersion]:
        found = route.by_version(version)
        if found is None:
            served_versions = ", ".join(f"{v.version} ({a})" for a, v in route.arms().items())
            raise RequestError(404, f"model '{route.model}' version {version} is not served here; "
                                    f"served versions: {served_versions}",
                               [{"field": "version", "message": f"'{version}' is not served here"}])
        return labelled(request, *found)

    def headers_of(loaded: LoadedVersion, arm: str, request_id: str) -> dict[str, str]:
        return {"x-shipyard-model": loaded.model, "x-shipyard-model-version": loaded.version,
                "x-shipyard-arm": arm, "x-request-id": request_id}

    def routed(request: Request, model: str) -> Route:
        route = gateway.route(model)
        request.scope[SCOPE_KEY].model = model  # only a served model's name becomes a label: bounded
        return route

    @app.get("/v2", response_model=ServerMetadata)
    async def server_metadata() -> dict:
        return {"name": "shipyard", "version": __version__, "extensions": ["binary_tensor_data"]}

    @app.get("/v2/health/live", response_model=Liveness)
    async def live() -> dict:
        return {"live": True}

    @app.get("/v2/health/ready", response_model=Readiness, responses={503: {"model": Readiness}})
    async def ready() -> JSONResponse:
        ok = bool(gateway.routes)
        return JSONResponse({"ready": ok}, status_code=200 if ok else 503)

    def model_metadata(route: Route, loaded: LoadedVersion) -> dict:
        outputs = [{"name": "predict", "datatype": "BYTES", "shape": [-1]}]
        if "predict_proba" in (loaded.outputs or ()) or (loaded.outputs is None
                                                          and hasattr(loaded.estimator, "predict_proba")):
            outputs.append({"name": "predict_proba", "datatype": "FP64", "shape": [-1, -1]})
        return {"name": loaded.model, "versions": sorted({v.version for v in route.arms().values()}, key=int),
                "platform": "shipyard",
                "inputs": [{"name": n, "datatype": _V2_TYPES.get(t, "BYTES"), "shape": [-1]}
                           for n, t in loaded.signature.items()],
                "outputs": outputs}

    def version_of(model: str, version: str) -> tuple[Route, LoadedVersion]:
        route = gateway.route(model)
        found = route.by_version(version)
        if found is None:
            raise RequestError(404, f"model '{model}' version {version} is not served here",
                               [{"field": "version", "message": f"'{version}' is not served here"}])
        return route, found[1]

    @app.get("/v2/models/{model}", response_model=ModelMetadata, responses=error_responses(404))
    async def metadata(model: str) -> dict:
        route = gateway.route(model)
        return model_metadata(route, route.stable)

    @app.get("/v2/models/{model}/versions/{version}", response_model=ModelMetadata, responses=error_responses(404))
    async def version_metadata(model: str, version: str) -> dict:
        return model_metadata(*version_of(model, version))

    @app.get("/v2/models/{model}/ready", response_model=ModelReadiness, responses=error_responses(404))
    async def model_ready(model: str) -> dict:
        return {"name": model, "ready": gateway.route(model) is not None}

    @app.get("/v2/models/{model}/versions/{version}/ready", response_model=ModelReadiness,
             responses=error_responses(404))
    async def version_ready(model: str, version: str) -> dict:
        return {"name": model, "ready": version_of(model, version) is not None}

    async def infer(request: Request, model: str, version: str | None, header_length: str | None) -> JSONResponse:
        started = time.perf_counter()
        route = routed(request, model)
        fixed = None if version is None else addressed(route, version, request)
        header, binary = split_binary_request(await read_body(request, max_body_bytes), header_length)
        body = parse_body(V2InferRequest, header)
        columns, requested = v2_columns(body, binary)
        arm, loaded = fixed or picked(route, request, columns, body.parameters or {})
        if loaded.outputs is not None:
            check_requested(requested, loaded.outputs)
        request_id = body.id or str(uuid.uuid4())
        outputs = await predicted(loaded, arm, "v2", columns, started, request_id)
        if version is None:
            mirror(route, "v2", columns, request_id)
        response = {"model_name": loaded.model, "model_version": loaded.version,
                    "outputs": v2_outputs(outputs, requested)}
        if body.id is not None:
            response["id"] = body.id
        return JSONResponse(response, headers=headers_of(loaded, arm, request_id))

    @app.post("/v2/models/{model}/infer", response_model=V2InferResponse, responses=INFER_ERRORS,
              openapi_extra=request_body(V2InferRequest, binary=True))
    async def infer_latest(request: Request, model: str,
                           inference_header_content_length: BinaryHeader = None) -> JSONResponse:
        return await infer(request, model, None, inference_header_content_length)

    @app.post("/v2/models/{model}/versions/{version}/infer", response_model=V2InferResponse,
              responses=INFER_ERRORS, openapi_extra=request_body(V2InferRequest, binary=True))
    async def infer_version(request: Request, model: str, version: str,
                            inference_header_content_length: BinaryHeader = None) -> JSONResponse:
        return await infer(request, model, version, inference_header_content_length)

    @app.post("/models/{model}/invocations", response_model=MlflowResponse, responses=INFER_ERRORS,
              openapi_extra=request_body(MlflowRequest))
    async def invocations(request: Request, model: str) -> JSONResponse:
        started = time.perf_counter()
        route = routed(request, model)
        body = parse_body(MlflowRequest, await read_body(request, max_body_bytes))
        columns = mlflow_columns(body, route.stable.columns)
        arm, loaded = picked(route, request, columns, body.params or {})
        request_id = request.headers.get("x-request-id") or str(uuid.uuid4())
        outputs = await predicted(loaded, arm, "mlflow", columns, started, request_id)
        mirror(route, "mlflow", columns, request_id)
        return JSONResponse({"predictions": outputs["predict"].tolist()}, headers=headers_of(loaded, arm, request_id))

    @app.get("/metrics", response_class=PlainTextResponse,
             responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}},
                              "description": "Prometheus exposition format."}})
    async def prometheus() -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        for (model, version), batcher in list(gateway.batchers.items()):
            metrics.queue_depth.labels(model, version).set(batcher.depth)
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app
