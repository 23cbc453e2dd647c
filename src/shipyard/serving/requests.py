"""The typed request and response bodies of the gateway, for both protocols.

Every body is parsed straight from its bytes into these models (pydantic's JSON parser,
no recursion, no intermediate ``json.loads``) before anything else touches it, so a
malformed body is a 422 naming the wrong field and never reaches routing or a model.
Feature values stay ``Any`` here: they are checked column by column against the
version's signature once an arm is picked (see :mod:`shipyard.serving.validation`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr
from pydantic import ValidationError, model_validator

from shipyard.serving.errors import RequestError

V2_DATATYPES = ("BOOL", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64", "FP16", "FP32",
                "FP64", "BYTES")

ParameterValue = StrictBool | StrictInt | StrictFloat | StrictStr
Parameters = dict[str, ParameterValue]


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TensorParameters(BaseModel):
    """A tensor's parameters; ``binary_data_size`` places its values in the binary part of the body."""

    model_config = ConfigDict(extra="allow", frozen=True)
    __pydantic_extra__: dict[str, ParameterValue] = Field(init=False)

    binary_data_size: Annotated[StrictInt, Field(ge=0)] | None = None


class V2InputTensor(_Body):
    name: Annotated[StrictStr, Field(min_length=1)]
    shape: list[Annotated[StrictInt, Field(ge=0)]] = Field(max_length=2, description="[rows] or [rows, 1]")
    datatype: Annotated[Literal[V2_DATATYPES], BeforeValidator(_upper)]
    data: list[Any] | None = Field(default=None, description="Row-major values; absent when binary_data_size "
                                   "places them in the binary part of the body.")
    parameters: TensorParameters | None = None


class V2RequestedOutput(_Body):
    name: StrictStr
    parameters: Parameters | None = None


class V2InferRequest(_Body):
    """An Open Inference Protocol (KServe V2) infer request: one named input tensor per feature."""

    id: StrictStr | None = None
    parameters: Parameters | None = None
    inputs: list[V2InputTensor] = Field(min_length=1)
    outputs: list[V2RequestedOutput] | None = None


class V2OutputTensor(_Body):
    name: str
    shape: list[int]
    datatype: Literal["BOOL", "INT64", "FP64", "BYTES"]
    data: list[Any]


class V2InferResponse(_Body):
    model_name: str
    model_version: str
    id: str | None = None
    outputs: list[V2OutputTensor]


class DataframeSplit(_Body):
    columns: list[StrictStr] | None = Field(default=None, description="Column names; the signature's order when "
                                            "absent.")
    index: list[Any] | None = None
    data: list[list[Any]]


_MLFLOW_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")
Rows = list[dict[str, Any]] | list[list[Any]] | dict[str, Any]


class MlflowRequest(_Body):
    """An MLflow scoring payload: exactly one of the four layouts, and optional ``params``."""

    dataframe_split: DataframeSplit | None = None
    dataframe_records: list[dict[str, Any]] | None = None
    instances: Rows | None = Field(default=None, description="Records, rows in signature order, or a mapping of "
                                   "column to values.")
    inputs: Rows | None = Field(default=None, description="As instances.")
    params: Parameters | None = None

    @model_validator(mode="before")
    @classmethod
    def _exactly_one_layout(cls, data: Any) -> Any:
        if isinstance(data, dict):
            given = [k for k in _MLFLOW_KEYS if data.get(k) is not None]
            if len(given) != 1:
                keys = ", ".join(map(str, data)) or "none"
                raise ValueError(f"give exactly one of: {', '.join(_MLFLOW_KEYS)} (the body has: {keys})")
        return data


class MlflowResponse(_Body):
    predictions: list[Any]


class FieldError(_Body):
    field: str
    message: str


class ErrorBody(_Body):
    """Every refusal: what went wrong, which fields, and what to do."""

    error: str
    errors: list[FieldError] | None = None
    hint: str | None = None


class ServerMetadata(_Body):
    name: str
    version: str
    extensions: list[str]


class TensorMetadata(_Body):
    name: str
    datatype: str
    shape: list[int]


class ModelMetadata(_Body):
    name: str
    versions: list[str]
    platform: str
    inputs: list[TensorMetadata]
    outputs: list[TensorMetadata]


class Liveness(_Body):
    live: bool


class Readiness(_Body):
    ready: bool


class ModelReadiness(_Body):
    name: str
    ready: bool


Body = TypeVar("Body", bound=BaseModel)


# how pydantic names the members of this module's unions in an error's location
_UNION_TAGS = {"bool", "int", "float", "str", "list[dict[str,any]]", "list[list[any]]", "dict[str,any]"}


def _field(loc: tuple) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in _UNION_TAGS or part.startswith(("function-", "constrained-")):
            continue
        else:
            path += f".{part}" if path else part
    return path or "(body)"


def parse_body(model: type[Body], raw: bytes) -> Body:
    """``raw`` as ``model``: a 400 when it is not JSON, a 422 naming each wrong field when it does not fit."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        problems = exc.errors(include_url=False, include_input=False, include_context=False)
        if problems and problems[0]["type"] == "json_invalid":
            raise RequestError(400, "the body is not valid JSON", [{"field": "(body)", "message": problems[0]["msg"]}],
                               hint="send a JSON object (content-type: application/json)") from None
        fields, seen = [], set()
        for problem in problems:
            where = _field(problem["loc"])
            if where not in seen:  # a union reports each member's failure; the first says enough
                seen.add(where)
                fields.append({"field": where, "message": problem["msg"]})
        raise RequestError(422, f"the body does not fit a {model.__name__}", fields[:50],
                           hint="see the request schema at /openapi.json") from None
