"""Generated bodies for both protocols against a real gateway on loopback: never a 5xx, every refusal
names what is wrong, and /metrics counts exactly the answers sent."""

import json
import re
import struct
from collections import Counter

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from .conftest import LiveServer

V2 = "/v2/models/synth/infer"
MLFLOW = "/models/synth/invocations"
SENT: Counter = Counter()
FUZZ = settings(max_examples=500, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))

scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
                    st.sampled_from([2**63, -2**63 - 1, 10**400, 2**64]),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=12)
names = st.sampled_from(["x1", "x2", "color", "x1", "x2", "color", "", "ghost"]) | json_values
columns = st.lists(scalars | st.lists(scalars, max_size=2), min_size=0, max_size=4)


@st.composite
def v2_bodies(draw):
    tensor = st.fixed_dictionaries(
        {"name": names, "shape": st.lists(st.integers(-2, 5), max_size=3) | json_values,
         "datatype": st.sampled_from(["FP64", "fp32", "INT64", "BYTES", "BOOL", "UINT8", "COMPLEX"]) | json_values,
         "data": columns | json_values},
        optional={"parameters": st.dictionaries(st.sampled_from(["binary_data_size", "content_type", "x"]),
                                                json_values, max_size=2) | json_values})
    body = draw(st.fixed_dictionaries({"inputs": st.lists(tensor, max_size=4) | json_values},
                                      optional={"id": json_values, "parameters": json_values,
                                                "outputs": st.lists(st.fixed_dictionaries({"name": names})
                                                                    | json_values, max_size=2) | json_values}))
    return body


@st.composite
def mlflow_bodies(draw):
    layout = draw(st.sampled_from(["dataframe_split", "dataframe_records", "instances", "inputs", "two"]))
    rows = st.lists(st.lists(scalars, min_size=0, max_size=4), max_size=4)
    records = st.lists(st.dictionaries(names.filter(lambda n: isinstance(n, str)), scalars, max_size=4), max_size=3)
    mapping = st.dictionaries(names.filter(lambda n: isinstance(n, str)), columns | scalars, max_size=4)
    payload = {"dataframe_split": st.fixed_dictionaries({"data": rows | json_values},
                                                        optional={"columns": st.lists(names, max_size=4)
                                                                  | json_values}),
               "dataframe_records": records | json_values,
               "instances": rows | records | mapping | json_values,
               "inputs": mapping | rows | json_values}
    if layout == "two":
        return {"inputs": draw(mapping), "instances": draw(rows)}
    body = {layout: draw(payload[layout])}
    if draw(st.booleans()):
        body["params"] = draw(json_values)
    return body


def _binary(tensors):
    """A V2 body in the binary tensor extension: tensors of (name, datatype, values as bytes)."""
    header = {"inputs": [{"name": n, "shape": [shape], "datatype": t, "parameters": {"binary_data_size": len(b)}}
                         for n, t, shape, b in tensors]}
    head = json.dumps(header).encode()
    return head + b"".join(b for *_, b in tensors), len(head)


@st.composite
def binary_bodies(draw):
    rows = draw(st.integers(0, 3))
    tensors = []
    for name in draw(st.lists(st.sampled_from(["x1", "x2", "color", "x9"]), min_size=1, max_size=4)):
        datatype = draw(st.sampled_from(["FP64", "FP32", "INT64", "BYTES", "BOOL", "FP16"]))
        raw = draw(st.binary(max_size=40) | st.just(b"".join(struct.pack("<d", draw(st.floats()))
                                                             for _ in range(rows))))
        tensors.append((name, datatype, draw(st.integers(0, 4) | st.just(rows)), raw))
    body, length = _binary(tensors)
    header = draw(st.just(str(length)) | st.integers(-3, len(body) + 3).map(str)
                  | st.text("0123456789-+x.", min_size=1, max_size=4))
    cut = draw(st.integers(0, 8))
    return body[:len(body) - cut] if cut else body, header


@pytest.fixture(scope="module")
def gateway(tracked):
    from shipyard.serving.app import create_app
    from shipyard.serving.loaded import load_for_serving

    loaded = load_for_serving("synth", tracked["result"].model_version, settings=tracked["settings"])
    with LiveServer(create_app([loaded], max_body_bytes=1024 * 1024)) as server, \
            httpx.Client(base_url=server.url, timeout=30) as client:
        server.client = client
        yield server


def answered(gateway, path, **request):
    response = gateway.client.post(path, **request)
    SENT[response.status_code] += 1
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        payload = response.json()
        assert payload["error"] and payload["errors"], payload
        assert all(e["field"] and e["message"] for e in payload["errors"]), payload
    return response


@FUZZ
@given(body=v2_bodies())
@example(body={"inputs": [{"name": "x1", "shape": [1], "datatype": "INT64", "data": [2**63]}]})
@example(body={"inputs": [{"name": "x1", "shape": [1], "datatype": "FP64", "data": [1.0], "parameters": []}]})
@example(body={"inputs": [{"name": ["x1"], "shape": [1], "datatype": "FP64", "data": [1.0]}]})
@example(body={"inputs": [{"name": "x1", "shape": [1], "datatype": "FP64", "data": [1.0]}], "outputs": ["predict"]})
@example(body={"inputs": [{"name": "x1", "shape": [1], "datatype": "FP64", "parameters": {"binary_data_size": "abc"}}]})
def test_v2_json_bodies(gateway, body):
    answered(gateway, V2, content=json.dumps(body), headers={"content-type": "application/json"})


@FUZZ
@given(body=mlflow_bodies())
@example(body={"dataframe_split": {"columns": 3, "data": [[1.0, 2.0, "red"]]}})
@example(body={"dataframe_split": {"columns": [["x1"], "x2", "color"], "data": [[1.0, 2.0, "red"]]}})
@example(body={"dataframe_split": {"data": [[10**400, 2.0, "red"]]}})
@example(body={"inputs": {"x1": [1.0], "x2": [2.0], "color": ["red"]}})
@example(body={"inputs": {"x1": [1.0], "x2": [2.0], "color": ["red"]}, "params": {"k": [1]}})
def test_mlflow_bodies(gateway, body):
    answered(gateway, MLFLOW, content=json.dumps(body), headers={"content-type": "application/json"})


@FUZZ
@given(request=binary_bodies())
def test_v2_binary_bodies(gateway, request):
    body, header = request
    answered(gateway, V2, content=body, headers={"inference-header-content-length": header,
                                                 "content-type": "application/octet-stream"})


@FUZZ
@given(raw=st.binary(max_size=64) | json_values.map(lambda v: json.dumps(v).encode()),
       path=st.sampled_from([V2, MLFLOW]))
@example(raw=b"[" * 100_000 + b"]" * 100_000, path=V2)
@example(raw=b'{"inputs": {"x1": [' + b"1.0, " * 300_000 + b'1.0]}}', path=MLFLOW)  # over the 1 MiB limit
@example(raw=b'{"inputs": ' + b"[" * 20_000 + b"]" * 20_000 + b"}", path=MLFLOW)
@example(raw=b'{"inputs": {"x1": [' + b"[" * 50_000 + b"]" * 50_000 + b'], "x2": [1.0], "color": ["red"]}}',
         path=MLFLOW)
def test_arbitrary_bytes(gateway, raw, path):
    answered(gateway, path, content=raw, headers={"content-type": "application/json"})


def test_metrics_count_every_answer_sent(gateway):
    assert sum(SENT.values()) > 1000 and SENT[200] > 0, SENT
    text = gateway.client.get("/metrics").text
    answers, errors = Counter(), Counter()
    for family, counter in (("shipyard_requests_total", answers), ("shipyard_request_errors_total", errors)):
        for labels, value in re.findall(rf"^{family}\{{(.*?)\}} (\S+)$", text, re.M):
            counter[int(re.search(r'code="(\d+)"', labels).group(1))] += int(float(value))
    assert answers == SENT
    assert errors == Counter({code: n for code, n in SENT.items() if code >= 400})
