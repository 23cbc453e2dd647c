"""The gateway's OpenAPI document: request bodies, response models and every status a route answers.

Request bodies are parsed by the routes themselves (to stream under a size limit and to
accept the binary tensor extension), so FastAPI cannot infer them: each POST route names
its body model here, and the models' JSON Schemas are added to the document's components.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from shipyard.serving.auth import needed_scope
from shipyard.serving.requests import ErrorBody, MlflowRequest, V2InferRequest

_MEANING = {400: "The body is not JSON, or its binary part does not fit its header.",
            401: "No bearer token, or one that is unknown, revoked or expired (this gateway requires a token).",
            403: "The token does not grant this endpoint's scope.",
            404: "The model (or version) is not served here.",
            413: "The body is over the gateway's size limit.",
            422: "The body, or a feature value, does not fit the schema or the model's input signature.",
            500: "A valid request failed inside the model (this counts against the version's service levels)."}
_BODY_MODELS = (V2InferRequest, MlflowRequest)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": ErrorBody, "description": _MEANING[status]} for status in statuses}


INFER_ERRORS = error_responses(400, 404, 413, 422, 500)


def request_body(model: type[BaseModel], *, binary: bool = False) -> dict[str, Any]:
    content: dict[str, Any] = {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}
    body: dict[str, Any] = {"required": True, "content": content}
    if binary:
        content["application/octet-stream"] = {"schema": {"type": "string", "format": "binary"}}
        body["description"] = ("JSON, or with the binary tensor data extension the JSON request followed by the "
                               "tensors' bytes (the inference-header-content-length header gives the JSON part's "
                               "length).")
    return {"requestBody": body}


def add_request_bodies(app: FastAPI, *, token_scopes: Collection[str] = ()) -> None:
    """Make ``app.openapi()`` include the request body models' schemas (and the token requirement, if any)."""

    def document() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for operation in (op for path in schema["paths"].values() for op in path.values()):
                if "422" in operation["responses"]:  # parameter errors are answered as ErrorBody too
                    operation["responses"]["422"] = {"description": _MEANING[422], "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}
            components.pop("HTTPValidationError", None)
            components.pop("ValidationError", None)
            for model in _BODY_MODELS:
                model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                components.update(model_schema.pop("$defs", {}))
                components[model.__name__] = model_schema
            if token_scopes:
                _document_token_requirement(schema, token_scopes)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = document


def _document_token_requirement(schema: dict[str, Any], scopes: Collection[str]) -> None:
    schema["components"]["securitySchemes"] = {"bearer": {
        "type": "http", "scheme": "bearer",
        "description": "An API token (shipyard tokens create --scope inference|inference:MODEL|metrics)."}}
    for path, operations in schema["paths"].items():
        if needed_scope(path)[0] in scopes:
            for operation in operations.values():
                operation["security"] = [{"bearer": []}]
                for status in (401, 403):
                    operation["responses"][str(status)] = {"description": _MEANING[status], "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}
