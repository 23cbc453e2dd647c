"""A gateway that requires tokens, on loopback, over a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from sqlalchemy import event

from shipyard.config import load_settings
from shipyard.governance import directory, tokens
from shipyard.serving.gateway import Gateway
from shipyard.serving.server import background_gateway
from shipyard.store.db import get_engine

POLL_S = 0.25
SLACK_S = 0.3
"""Beyond one poll interval: the refresh's own queries, and a loaded machine's scheduling (the gateway, its
poller and the client share one process here)."""
ROWS = {"x1": [0.5, -1.2], "x2": [1.0, 0.0], "color": ["red", "green"]}
V2_BODY = {"inputs": [{"name": "x1", "shape": [2], "datatype": "FP64", "data": ROWS["x1"]},
                      {"name": "x2", "shape": [2], "datatype": "FP64", "data": ROWS["x2"]},
                      {"name": "color", "shape": [2], "datatype": "BYTES", "data": ROWS["color"]}]}
MLFLOW_BODY = {"inputs": ROWS}


@pytest.fixture(scope="module")
def loaded(tracked):
    from shipyard.serving.loaded import load_for_serving

    return load_for_serving("synth", tracked["result"].model_version, settings=tracked["settings"])


@pytest.fixture
def store(database_url):
    """A store with a team whose service accounts hold tokens of every kind."""
    directory.bootstrap_admin("root")
    directory.create_team("research")
    for account in ("svc:scorer", "svc:prometheus"):
        directory.add_member("research", account, "viewer")
    return load_settings()


def token(*scopes: str, identity: str = "svc:scorer", **options) -> tokens.CreatedToken:
    return tokens.create_token("-".join(scopes) or "api", identity=identity, scopes=scopes, **options)


def bearer(created: tokens.CreatedToken | str) -> dict[str, str]:
    secret = created if isinstance(created, str) else created.secret
    return {"authorization": f"Bearer {secret}"}


@pytest.fixture
def serve(loaded, store):
    """Start a gateway over the store requiring tokens for ``required``; yields its base URL."""

    def start(required=("inference", "metrics"), *, refresh_interval_s: float = POLL_S):
        gateway = Gateway.pinned([loaded])
        gateway.require_token(required, settings=store, refresh_interval_s=refresh_interval_s)
        return background_gateway(gateway)

    return start


def infer(client: httpx.Client, headers=None, model: str = "synth") -> httpx.Response:
    return client.post(f"/v2/models/{model}/infer", json=V2_BODY, headers=headers)


def test_only_a_token_with_the_inference_scope_is_served(serve):
    everything, one_model, other_model = token("inference"), token("inference:synth"), token("inference:churn")
    api_only, scraper = token(), token("metrics", identity="svc:prometheus")
    with serve() as url, httpx.Client(base_url=url) as client:
        for granted in (everything, one_model):
            assert infer(client, bearer(granted)).status_code == 200
            answer = client.post("/models/synth/invocations", json=MLFLOW_BODY, headers=bearer(granted))
            assert answer.status_code == 200 and len(answer.json()["predictions"]) == 2
            assert client.get("/v2/models/synth", headers=bearer(granted)).status_code == 200

        missing = infer(client)
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"] == 'Bearer realm="shipyard gateway"'
        assert set(missing.json()) == {"error", "errors", "hint"}
        assert "requires a bearer token with the inference scope" in missing.json()["error"]
        assert "shipyard tokens create" in missing.json()["hint"]
        for wrong in ({"authorization": "Basic c3ZjOnNjb3Jlcg=="}, {"authorization": "Bearer"},
                      bearer("shy_" + "x" * 43), bearer(everything.secret + "x")):
            refused = infer(client, wrong)
            assert refused.status_code == 401, wrong
            assert refused.headers["www-authenticate"].startswith('Bearer realm="shipyard gateway"')
        assert "not known" in infer(client, bearer("shy_" + "x" * 43)).json()["error"]
        assert client.post("/models/synth/invocations", json=MLFLOW_BODY).status_code == 401
        assert client.get("/v2/models/synth").status_code == 401
        assert client.get("/v2/models/synth/ready").status_code == 401

        for lacking in (api_only, other_model):
            refused = infer(client, bearer(lacking))
            assert refused.status_code == 403
            assert refused.headers["www-authenticate"].endswith('error="insufficient_scope", scope="inference"')
            assert "does not grant inference or inference:synth" in refused.json()["error"]
        # an unknown model is refused for the token first: a caller without one learns nothing of what is served
        assert infer(client, model="secret-model").status_code == 401
        assert infer(client, bearer(everything), model="secret-model").status_code == 404

        for open_path in ("/v2/health/live", "/v2/health/ready", "/v2", "/openapi.json"):
            assert client.get(open_path).status_code == 200, open_path

        exposition = client.get("/metrics", headers=bearer(scraper)).text
    refusals: dict[str, float] = {}
    for line in exposition.splitlines():
        if line.startswith("shipyard_requests_total{") and 'model="unknown"' in line:
            code = line.split('code="')[1][:3]
            refusals[code] = refusals.get(code, 0) + float(line.rsplit(" ", 1)[1])
    assert refusals == {"401": 8, "403": 2, "404": 1}  # inference answers (POST) are counted, refusals too


def test_metrics_is_a_scope_of_its_own(serve):
    inference, metrics = token("inference"), token("metrics", identity="svc:prometheus")
    with serve() as url, httpx.Client(base_url=url) as client:
        assert client.get("/metrics").status_code == 401
        refused = client.get("/metrics", headers=bearer(inference))
        assert refused.status_code == 403 and 'scope="metrics"' in refused.headers["www-authenticate"]
        assert client.get("/metrics", headers=bearer(metrics)).status_code == 200
        assert infer(client, bearer(metrics)).status_code == 403
    with serve(["inference"]) as url, httpx.Client(base_url=url) as client:
        assert client.get("/metrics").status_code == 200
        assert infer(client).status_code == 401
    with serve(["metrics"]) as url, httpx.Client(base_url=url) as client:
        assert infer(client).status_code == 200
        assert client.get("/metrics").status_code == 401


def test_the_openapi_document_declares_the_requirement(serve):
    with serve(["inference"]) as url:
        document = httpx.get(f"{url}/openapi.json").json()
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    infer_operation = document["paths"]["/v2/models/{model}/infer"]["post"]
    assert infer_operation["security"] == [{"bearer": []}] and {"401", "403"} <= set(infer_operation["responses"])
    assert "security" not in document["paths"]["/v2/health/live"]["get"]
    assert "security" not in document["paths"]["/metrics"]["get"]


def test_a_revoked_token_is_refused_within_one_poll_interval(serve):
    created = token("inference")
    with serve() as url, httpx.Client(base_url=url) as client:
        assert infer(client, bearer(created)).status_code == 200
        tokens.revoke_token(created.info.id)
        revoked_at = time.monotonic()
        while (answer := infer(client, bearer(created))).status_code == 200:
            assert time.monotonic() - revoked_at < 5, "the revoked token is still served"
        refused_after = time.monotonic() - revoked_at
    print(f"revoked token refused after {refused_after * 1000:.0f} ms (poll interval {POLL_S * 1000:.0f} ms)")
    assert answer.status_code == 401 and "was revoked" in answer.json()["error"]
    assert refused_after < POLL_S + SLACK_S


def test_an_expired_token_is_refused_the_moment_it_expires(serve):
    created = token("inference", expires_in=timedelta(seconds=1))
    with serve(refresh_interval_s=60) as url, httpx.Client(base_url=url) as client:  # no refresh can help
        assert infer(client, bearer(created)).status_code == 200
        time.sleep(max(0.0, (created.info.expires_at - datetime.now(timezone.utc)).total_seconds()))
        answer = infer(client, bearer(created))
    assert answer.status_code == 401 and "expired" in answer.json()["error"]


def test_a_token_created_while_serving_is_accepted_within_one_poll_interval(serve):
    with serve() as url, httpx.Client(base_url=url) as client:
        created = token("inference")
        deadline = time.monotonic() + POLL_S + SLACK_S
        while infer(client, bearer(created)).status_code != 200:
            assert time.monotonic() < deadline, "a new token is not accepted"


def test_the_request_path_does_not_query_the_store(serve, store):
    engine, statements = get_engine(store), []
    lock = threading.Lock()

    def counted(conn, cursor, statement, *args):
        with lock:
            statements.append(statement)

    created = token("inference")
    event.listen(engine, "before_cursor_execute", counted)
    try:
        with serve(refresh_interval_s=60) as url:
            assert statements, "the counter sees the guard's start-up read of the tokens"
            statements.clear()
            with httpx.Client(base_url=url, limits=httpx.Limits(max_connections=16)) as client, \
                    ThreadPoolExecutor(16) as pool:
                codes = list(pool.map(lambda _: infer(client, bearer(created)).status_code, range(320)))
            burst = list(statements)
    finally:
        event.remove(engine, "before_cursor_execute", counted)
    assert codes == [200] * 320
    assert burst == []
