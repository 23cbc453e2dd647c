"""Both protocols against a real gateway on loopback, with the real Triton client."""

import httpx
import numpy as np
import pytest

ROWS = {"x1": [0.5, -1.2, 2.0], "x2": [1.0, 0.0, -0.3], "color": ["red", "green", "blue"]}


def expected(tracked, rows=ROWS):
    import pandas as pd

    return tracked["model"].predict(pd.DataFrame(rows)[["x1", "x2", "color"]])


def test_health_and_metadata(live_gateway):
    with httpx.Client(base_url=live_gateway.url) as client:
        assert client.get("/v2/health/live").json() == {"live": True}
        assert client.get("/v2/health/ready").status_code == 200
        meta = client.get("/v2/models/synth").json()
        assert [i["name"] for i in meta["inputs"]] == ["x1", "x2", "color"]
        assert {i["name"]: i["datatype"] for i in meta["inputs"]}["color"] == "BYTES"
        version = live_gateway.loaded.version
        assert client.get(f"/v2/models/synth/versions/{version}/ready").json()["ready"] is True
        assert client.get("/v2").json()["name"] == "shipyard"


def test_v2_infer_echoes_id_and_returns_each_row(live_gateway, tracked):
    body = {"id": "req-7", "inputs": [
        {"name": "x1", "shape": [3], "datatype": "FP64", "data": ROWS["x1"]},
        {"name": "x2", "shape": [3, 1], "datatype": "FP64", "data": [[v] for v in ROWS["x2"]]},
        {"name": "color", "shape": [3], "datatype": "BYTES", "data": ROWS["color"]}],
        "outputs": [{"name": "predict_proba"}, {"name": "predict"}]}
    response = httpx.post(f"{live_gateway.url}/v2/models/synth/infer", json=body)
    assert response.status_code == 200, response.text
    payload = response.json()
    assert payload["id"] == "req-7" and payload["model_name"] == "synth"
    assert [o["name"] for o in payload["outputs"]] == ["predict_proba", "predict"]
    assert payload["outputs"][0]["shape"] == [3, 2]
    assert payload["outputs"][1]["data"] == expected(tracked).tolist()
    assert response.headers["x-shipyard-model-version"] == live_gateway.loaded.version
    assert response.headers["x-shipyard-arm"] == "stable"


@pytest.mark.parametrize("payload", [
    {"dataframe_split": {"columns": ["x1", "x2", "color"],
                         "data": [[ROWS["x1"][i], ROWS["x2"][i], ROWS["color"][i]] for i in range(3)]}},
    {"dataframe_records": [{"x1": ROWS["x1"][i], "x2": ROWS["x2"][i], "color": ROWS["color"][i]} for i in range(3)]},
    {"instances": [[ROWS["x1"][i], ROWS["x2"][i], ROWS["color"][i]] for i in range(3)]},
    {"inputs": ROWS},
])
def test_mlflow_payloads(live_gateway, tracked, payload):
    response = httpx.post(f"{live_gateway.url}/models/synth/invocations", json=payload)
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": expected(tracked).tolist()}


def test_triton_client_works_unchanged(live_gateway, tracked):
    import tritonclient.http as triton

    client = triton.InferenceServerClient(url=live_gateway.url.removeprefix("http://"))
    assert client.is_server_live() and client.is_model_ready("synth")
    inputs = []
    for name, values, datatype in (("x1", ROWS["x1"], "FP64"), ("x2", ROWS["x2"], "FP64"),
                                   ("color", ROWS["color"], "BYTES")):
        tensor = triton.InferInput(name, [3], datatype)
        tensor.set_data_from_numpy(np.array(values, dtype=object if datatype == "BYTES" else np.float64))
        inputs.append(tensor)
    result = client.infer("synth", inputs, outputs=[triton.InferRequestedOutput("predict", binary_data=False)])
    assert result.as_numpy("predict").tolist() == expected(tracked).tolist()
    assert client.get_model_metadata("synth")["name"] == "synth"


@pytest.mark.parametrize("path, body, status, needle", [
    ("/models/ghost/invocations", {"inputs": ROWS}, 404, "unknown model 'ghost'"),
    ("/models/synth/invocations", {"inputs": {"x1": [1.0], "x2": [2.0]}}, 422, "missing column"),
    ("/models/synth/invocations", {"inputs": {**{k: v[:1] for k, v in ROWS.items()}, "extra": [1]}}, 422,
     "unexpected column"),
    ("/models/synth/invocations", {"inputs": {"x1": ["a"], "x2": [1.0], "color": ["red"]}}, 422,
     "expected a number"),
    ("/models/synth/invocations", {"inputs": {"x1": [1.0, 2.0], "x2": [1.0], "color": ["red"]}}, 422,
     "different lengths"),
    ("/models/synth/invocations", {"nothing": 1}, 422, "exactly one of"),
    ("/v2/models/synth/infer", {"inputs": [{"name": "x1", "shape": [2], "datatype": "FP64", "data": [1.0]}]},
     422, "needs 2 values"),
    ("/v2/models/synth/versions/99/infer", {"inputs": []}, 404, "version 99 is not served"),
])
def test_user_mistakes_are_4xx_with_field_errors(live_gateway, path, body, status, needle):
    response = httpx.post(f"{live_gateway.url}{path}", json=body)
    assert response.status_code == status, response.text
    assert needle in response.text


def test_non_finite_and_malformed_and_oversized(live_gateway):
    raw = '{"inputs": {"x1": [Infinity], "x2": [1.0], "color": ["red"]}}'
    response = httpx.post(f"{live_gateway.url}/models/synth/invocations", content=raw,
                          headers={"content-type": "application/json"})
    assert response.status_code == 422 and "non-finite" in response.text
    broken = httpx.post(f"{live_gateway.url}/models/synth/invocations", content="{not json",
                        headers={"content-type": "application/json"})
    assert broken.status_code == 400
    big = {"inputs": {"x1": [1.0] * 20000, "x2": [1.0] * 20000, "color": ["red"] * 20000}}
    assert httpx.post(f"{live_gateway.url}/models/synth/invocations", json=big).status_code == 413


def test_metrics_count_requests_and_errors(live_gateway):
    httpx.post(f"{live_gateway.url}/models/synth/invocations", json={"inputs": ROWS})
    httpx.post(f"{live_gateway.url}/models/synth/invocations", json={"inputs": {"x1": [1.0]}})
    text = httpx.get(f"{live_gateway.url}/metrics").text
    assert 'shipyard_requests_total{arm="stable",code="200",model="synth",protocol="mlflow"' in text
    assert 'shipyard_request_errors_total{arm="stable",code="422",model="synth",protocol="mlflow"' in text
    assert "shipyard_request_latency_seconds_bucket" in text


def test_concurrent_requests_through_the_gateway_each_get_their_rows(live_gateway, tracked):
    import concurrent.futures

    import pandas as pd

    def one(i):
        rng = np.random.default_rng(i)
        n = 1 + i % 9
        rows = {"x1": rng.normal(size=n).tolist(), "x2": rng.normal(size=n).tolist(),
                "color": [["red", "green", "blue"][j % 3] for j in range(n)]}
        reply = httpx.post(f"{live_gateway.url}/models/synth/invocations", json={"inputs": rows}, timeout=30)
        return rows, reply.json()["predictions"]

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        results = list(pool.map(one, range(120)))
    for rows, predictions in results:
        assert predictions == tracked["model"].predict(pd.DataFrame(rows)[["x1", "x2", "color"]]).tolist()
    text = httpx.get(f"{live_gateway.url}/metrics").text
    assert "shipyard_batch_rows_bucket" in text and "shipyard_batch_queue_depth" in text
