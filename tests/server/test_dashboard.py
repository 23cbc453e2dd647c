"""The dashboard's files served at ``/`` by the API server, over real HTTP on loopback."""

from __future__ import annotations

import contextlib

import httpx
import pytest

from server.conftest import assert_problem

INDEX = "<!doctype html><html><head><script type=module src=/assets/index-abc123.js></script></head>" \
        "<body><div id=root></div></body></html>"


def built(folder):
    """A build as Vite leaves it: index.html, hashed assets, a file at the top level."""
    (folder / "assets").mkdir(parents=True)
    (folder / "index.html").write_text(INDEX)
    (folder / "assets" / "index-abc123.js").write_text("console.log('dashboard');")
    (folder / "assets" / "index-abc123.css").write_text("body { margin: 0 }")
    (folder / "robots.txt").write_text("User-agent: *\n")
    return folder


@contextlib.contextmanager
def serving(home, static_dir):
    from shipyard.config import load_settings
    from shipyard.server.app import create_app
    from shipyard.serving.server import background_app
    from shipyard.store.db import reset_engines

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SHIPYARD_HOME", str(home))
        for name in ("SHIPYARD_DATABASE_URL", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
            patch.delenv(name, raising=False)
        reset_engines()
        try:
            with background_app(create_app(load_settings(), static_dir=static_dir), what="the API server") as url:
                with httpx.Client(base_url=url, timeout=30) as http:
                    yield http
        finally:
            reset_engines()


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    """One server for the module's tests: they only read."""
    folder = tmp_path_factory.mktemp("dashboard")
    (folder / "secret.txt").write_text("do not serve")
    with serving(folder / "home", built(folder / "static")) as http:
        yield http


def test_index_at_the_root_and_at_a_deep_link(dashboard):
    for path in ("/", "/runs/0123abcd", "/models/churny/versions/3?tab=gates", "/catalog/"):
        response = dashboard.get(path, headers={"accept": "text/html"})
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html")
        assert response.text == INDEX
        assert response.headers["cache-control"] == "no-cache"
    assert dashboard.head("/runs").status_code == 200


def test_assets_with_their_content_types_and_long_caching(dashboard):
    script = dashboard.get("/assets/index-abc123.js")
    assert script.status_code == 200 and script.text == "console.log('dashboard');"
    assert script.headers["content-type"].split(";")[0] in ("text/javascript", "application/javascript")
    assert "immutable" in script.headers["cache-control"] and "max-age=31536000" in script.headers["cache-control"]
    style = dashboard.get("/assets/index-abc123.css")
    assert style.headers["content-type"].startswith("text/css")
    robots = dashboard.get("/robots.txt")
    assert robots.text == "User-agent: *\n" and robots.headers["cache-control"] == "no-cache"


def test_a_missing_asset_is_a_404_not_the_index(dashboard):
    assert_problem(dashboard.get("/assets/index-gone.js"), 404, title="not found")


def test_paths_outside_the_build_are_never_served(dashboard):
    for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/assets/..%2f..%2fsecret.txt", "/assets/../../secret.txt"):
        response = dashboard.get(path)
        assert "do not serve" not in response.text, path
        assert response.text == INDEX or response.status_code == 404, path


def test_the_api_is_unaffected(dashboard):
    assert dashboard.get("/api/v1/health").json()["status"] == "ok"
    assert_problem(dashboard.get("/api/v1/nothing/here"), 404, detail="/api/v1/nothing/here")
    assert_problem(dashboard.get("/api"), 404)
    assert_problem(dashboard.get("/api/v1/runs"), 401)
    assert_problem(dashboard.delete("/api/v1/health"), 405)
    assert dashboard.get("/openapi.json").json()["info"]["title"] == "shipyard"
    assert "/" not in dashboard.get("/openapi.json").json()["paths"]


def test_a_missing_build_says_how_to_build_it(tmp_path):
    with serving(tmp_path / "home", tmp_path / "never-built") as http:
        page = http.get("/runs", headers={"accept": "text/html,application/xhtml+xml"})
        assert page.status_code == 503 and page.headers["content-type"].startswith("text/html")
        assert "The dashboard is not built" in page.text and "make web" in page.text
        body = assert_problem(http.get("/", headers={"accept": "application/json"}), 503,
                              title="dashboard not built")
        assert "make web" in body["hint"]
        assert http.get("/api/v1/health").status_code == 200
