"""Every answer of an inference endpoint is counted by model, version, arm, protocol and code."""

import re
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from shipyard.serving.app import create_app
from shipyard.serving.loaded import LoadedVersion

from .test_loaded import version

ROW = {"inputs": {"x1": [0.1], "x2": [0.2], "color": ["red"]}}


@dataclass
class Broken(LoadedVersion):
    """A version whose request preparation has a bug: nothing on the request path handles it."""

    def prepare(self, columns):
        raise RuntimeError("a bug in the gateway")


@pytest.fixture
def client():
    loaded = version(impute_x1=True)
    app = create_app([loaded])
    with TestClient(app, raise_server_exceptions=True) as client:
        client.gateway = app.state.gateway
        yield client


def counted(client, family: str) -> dict[tuple, float]:
    text = client.get("/metrics").text
    found = {}
    for labels, value in re.findall(rf"^{family}\{{(.*?)\}} (\S+)$", text, re.M):
        pairs = dict(re.findall(r'(\w+)="(.*?)"', labels))
        found[(pairs["model"], pairs["version"], pairs["arm"], pairs["protocol"], pairs["code"])] = float(value)
    return found


def test_answers_are_counted_whatever_produced_them(client):
    assert client.post("/models/lr/invocations", json=ROW).status_code == 200
    assert client.post("/models/lr/invocations", content=b"{", headers={"content-type": "application/json"}
                       ).status_code == 400
    assert client.post("/v2/models/lr/infer", json={"inputs": "x"}).status_code == 422
    assert client.post("/models/lr/invocations", json={"inputs": {"x1": ["a"], "x2": [1.0], "color": ["red"]}}
                       ).status_code == 422
    assert client.post("/models/nobody-serves-this/invocations", json=ROW).status_code == 404
    assert client.post("/v2/models/lr/nothing-here", json=ROW).status_code == 404
    answers = counted(client, "shipyard_requests_total")
    assert answers == {("lr", "1", "stable", "mlflow", "200"): 1, ("lr", "", "", "mlflow", "400"): 1,
                       ("lr", "", "", "v2", "422"): 1, ("lr", "1", "stable", "mlflow", "422"): 1,
                       ("unknown", "", "", "mlflow", "404"): 1, ("unknown", "", "", "v2", "404"): 1}
    errors = counted(client, "shipyard_request_errors_total")
    assert errors == {labels: n for labels, n in answers.items() if labels[-1] != "200"}


def test_an_unhandled_error_is_a_counted_json_500(client):
    route = client.gateway.routes["lr"]
    client.gateway.routes = {"lr": type(route)(model="lr", stable=Broken(**vars(route.stable)))}
    response = client.post("/models/lr/invocations", json=ROW)
    assert response.status_code == 500 and response.headers["content-type"] == "application/json"
    assert "internal error" in response.json()["error"]
    assert counted(client, "shipyard_request_errors_total") == {("lr", "1", "stable", "mlflow", "500"): 1}
    assert client.gateway.stats.window("lr", "1", "stable", 0).requests == 0
