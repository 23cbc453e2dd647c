"""One SHIPYARD_HOME for the server tests: a model trained by the real pipeline, twice, and the API over it."""

from __future__ import annotations

import dataclasses
import textwrap

import pytest

SPEC = textwrap.dedent("""\
    name: churny
    team: growth
    description: Which customers are about to leave.
    data:
      source: {type: csv, path: data.csv}
      target: y
    split: {method: stratified, holdout: 0.3, seed: 0}
    features:
      - columns: [x1, x2]
        transforms: [{kind: scale}]
      - columns: [color]
        transforms: [{kind: one_hot}]
    model:
      flavor: sklearn
      estimator: LogisticRegression
      params: {max_iter: 200}
    registry:
      tags: {domain: retention}
    promotion:
      gates:
        thresholds: ["roc_auc >= 0.5"]
    deployment:
      canary: {steps: [10, 100], min_dwell_s: 1, min_requests: 20}
      slo: {max_error_rate: 0.05, max_p99_latency_ms: 250, min_requests: 10}
""")


PRICES = "cpu = 1.0\nmemory = 1.0\n"
"""The platform's price list: a core-hour and a GiB-hour cost 1 each."""


def write_project(folder, *, spec: str = SPEC, rows: int = 300, seed: int = 0):
    from tracked_run import synthetic_frame

    folder.mkdir(parents=True, exist_ok=True)
    synthetic_frame(n=rows, seed=seed).to_csv(folder / "data.csv", index=False)
    (folder / "pipeline.yaml").write_text(spec)
    return folder / "pipeline.yaml"


@pytest.fixture(scope="session")
def platform(tmp_path_factory):
    """Versions 1, 2 and 3 of 'churny' (team growth), each registered and gated to staging by a pipeline run.

    The runs leave deployment alone (as ``shipyard run --no-deploy``), so tests deploy through the API.
    """
    from shipyard.config import load_settings
    from shipyard.pipeline.api import run
    from shipyard.pipeline.runner import RunOptions
    from shipyard.spec.loader import load_spec
    from shipyard.store.db import reset_engines

    home = tmp_path_factory.mktemp("server-home")
    patch = pytest.MonkeyPatch()
    patch.setenv("SHIPYARD_HOME", str(home / "home"))
    for name in ("SHIPYARD_DATABASE_URL", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        patch.delenv(name, raising=False)
    patch.setenv("SHIPYARD_ACTOR", "tester")
    reset_engines()
    (home / "home").mkdir()
    (home / "home" / "prices.toml").write_text(PRICES)
    settings = load_settings()
    spec_path = write_project(home / "project")
    loaded = load_spec(spec_path)
    undeployed = dataclasses.replace(loaded, spec=loaded.spec.model_copy(update={"deployment": None}))
    runs = []
    for options in (RunOptions(), RunOptions(from_step="train"), RunOptions(from_step="train")):
        result = run(undeployed, options=dataclasses.replace(options, max_workers=1), settings=settings)
        assert result.status == "succeeded", result.error
        runs.append(result)
    yield {"settings": settings, "runs": runs, "spec_path": spec_path, "home": home}
    patch.undo()
    reset_engines()


@pytest.fixture(scope="session")
def client(platform):
    from fastapi.testclient import TestClient

    from shipyard.server.app import create_app

    with TestClient(create_app(platform["settings"], require_auth=False), raise_server_exceptions=False) as http:
        yield http


def assert_problem(response, status: int, *, title: str | None = None, detail: str | None = None):
    """The response is an RFC 9457 problem with this status (and title, and a detail containing ``detail``)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["type"].startswith("urn:shipyard:problem:")
    assert body["title"] and body["detail"]
    if title is not None:
        assert body["title"] == title, body
    if detail is not None:
        assert detail in body["detail"], body
    return body


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def governed(shipyard_home):
    """A fresh store and the API requiring tokens: ``(http, headers)`` with a bearer header for root (platform
    admin), ada (admin in team fraud), dev (developer in fraud) and nomad (in no team)."""
    from fastapi.testclient import TestClient

    from shipyard.config import load_settings
    from shipyard.governance import directory
    from shipyard.governance.identity import acting_as
    from shipyard.governance.tokens import authenticate_bearer, create_token
    from shipyard.server.app import create_app

    directory.bootstrap_admin("root")
    secrets = {"root": create_token("laptop", identity="root").secret}
    with acting_as(authenticate_bearer(secrets["root"])):
        directory.create_team("fraud")
        directory.add_member("fraud", "ada", "admin")
        directory.add_member("fraud", "dev", "developer")
        directory.add_member("fraud", "nomad", "viewer")
        directory.remove_member("fraud", "nomad")
        for name in ("ada", "dev", "nomad"):
            secrets[name] = create_token("laptop", identity=name).secret
    with TestClient(create_app(load_settings(), require_auth=True), raise_server_exceptions=False) as http:
        yield http, {name: bearer(secret) for name, secret in secrets.items()}
