"""Columns against a signature: types, int64 range, finiteness, and missing values in every encoding."""

import json
import math
import struct

import httpx
import numpy as np
import pandas as pd
import pytest

from shipyard.serving.errors import RequestError
from shipyard.serving.validation import validate_columns

from .conftest import LiveServer
from .test_loaded import version

SIGNATURE = {"n": "long", "x": "double", "s": "string", "b": "boolean"}


def refused(columns, accepts_missing=None) -> list[dict]:
    with pytest.raises(RequestError) as caught:
        validate_columns(columns, SIGNATURE, accepts_missing)
    assert caught.value.status == 422
    return caught.value.errors


def row(**changes):
    return {"n": [1], "x": [0.5], "s": ["a"], "b": [True], **changes}


@pytest.mark.parametrize("changes, field, needle", [
    ({"n": [2**63]}, "n[0]", "int64 range"),
    ({"n": [-2**63 - 1]}, "n[0]", "int64 range"),
    ({"n": [2.0**63]}, "n[0]", "int64 range"),
    ({"n": [1.5]}, "n[0]", "integer"),
    ({"n": [True]}, "n[0]", "integer"),
    ({"x": [10**400]}, "x[0]", "expected a number"),
    ({"x": [math.inf]}, "x[0]", "non-finite"),
    ({"x": ["1.5"]}, "x[0]", "expected a number"),
    ({"x": [[1.0]]}, "x[0]", "expected a number"),
    ({"s": [3]}, "s[0]", "expected a string"),
    ({"b": [2]}, "b[0]", "boolean"),
])
def test_values_outside_their_kind_are_refused_by_field(changes, field, needle):
    errors = refused(row(**changes))
    assert errors[0]["field"] == field and needle in errors[0]["message"], errors


def test_valid_columns_pass_and_integral_numbers_count_as_integers():
    columns, rows = validate_columns(row(n=[2**63 - 1, -2**63, 3.0], x=[1, None, math.nan], s=["a", None, "c"],
                                         b=[True, 0, None]), SIGNATURE)
    assert rows == 3 and columns["n"] == [2**63 - 1, -2**63, 3.0]


def test_missing_values_only_where_the_version_accepts_them():
    assert validate_columns(row(x=[math.nan]), SIGNATURE, frozenset({"x"}))[1] == 1
    errors = refused(row(x=[0.1, math.nan], n=[1, 2], s=["a", "b"], b=[True, False]), frozenset({"s"}))
    assert errors == [{"field": "x[1]", "message": errors[0]["message"]}] and "missing value" in errors[0]["message"]
    assert refused(row(s=[None]), frozenset({"x"}))[0]["field"] == "s[0]"


def _binary(x1: float, x2: float) -> tuple[bytes, str]:
    color = b"red"
    tensors = [("x1", "FP64", struct.pack("<d", x1)), ("x2", "FP64", struct.pack("<d", x2)),
               ("color", "BYTES", struct.pack("<I", len(color)) + color)]
    header = json.dumps({"inputs": [{"name": n, "shape": [1], "datatype": t,
                                     "parameters": {"binary_data_size": len(b)}} for n, t, b in tensors]}).encode()
    return header + b"".join(b for *_, b in tensors), str(len(header))


@pytest.fixture(scope="module")
def imputes_x1_only():
    from shipyard.serving.app import create_app

    with LiveServer(create_app([version(impute_x1=True)])) as server, \
            httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


@pytest.mark.parametrize("column, answer", [("x1", 200), ("x2", 422)])
def test_a_missing_value_means_the_same_in_every_encoding(imputes_x1_only, column, answer):
    other = {"x1": "x2", "x2": "x1"}[column]
    encodings = {
        "json null": dict(json={"dataframe_records": [{column: None, other: 0.1, "color": "red"}]}),
        "json NaN": dict(content=f'{{"inputs": {{"{column}": [NaN], "{other}": [0.1], "color": ["red"]}}}}',
                         headers={"content-type": "application/json"}),
    }
    for name, request in encodings.items():
        response = imputes_x1_only.post("/models/lr/invocations", **request)
        assert response.status_code == answer, (name, response.text)
    body, length = _binary(*((math.nan, 0.1) if column == "x1" else (0.1, math.nan)))
    response = imputes_x1_only.post("/v2/models/lr/infer", content=body,
                                    headers={"inference-header-content-length": length})
    assert response.status_code == answer, ("binary NaN", response.text)
    if answer == 422:
        assert response.json()["errors"][0]["field"] == f"{column}[0]"
        assert "missing value" in response.json()["errors"][0]["message"]


def test_infinity_stays_refused_in_binary_tensors(imputes_x1_only):
    body, length = _binary(math.inf, 0.1)
    response = imputes_x1_only.post("/v2/models/lr/infer", content=body,
                                    headers={"inference-header-content-length": length})
    assert response.status_code == 422 and "non-finite" in response.text
    assert 'code="500"' not in imputes_x1_only.get("/metrics").text


def test_an_int64_overflow_is_the_clients_422_not_the_versions_500():
    from fastapi.testclient import TestClient
    from sklearn.linear_model import LogisticRegression

    from shipyard.serving.app import create_app
    from shipyard.serving.loaded import LoadedVersion, probe

    frame = pd.DataFrame({"n": np.arange(40, dtype="int64"), "x": np.linspace(-1, 1, 40)})
    model = LogisticRegression().fit(frame, np.arange(40) % 2)
    app = create_app([probe(LoadedVersion(model="counts", version="1", estimator=model,
                                          signature={"n": "long", "x": "double"}))])
    tensors = [{"name": "n", "shape": [1], "datatype": "INT64", "data": [2**63]},
               {"name": "x", "shape": [1], "datatype": "FP64", "data": [0.5]}]
    with TestClient(app) as client:
        response = client.post("/v2/models/counts/infer", json={"inputs": tensors})
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == "n[0]", response.text
        tensors[0]["data"] = [2**63 - 1]
        assert client.post("/v2/models/counts/infer", json={"inputs": tensors}).status_code == 200
    window = app.state.gateway.stats.window("counts", "1", "stable", 0)
    assert (window.requests, window.errors) == (1, 0)
