"""``GET /api/v1/me``: the identity behind the bearer token."""

from __future__ import annotations

from fastapi.testclient import TestClient

from shipyard.config import load_settings
from shipyard.server.app import create_app

from .conftest import assert_problem


def test_me_needs_a_token_and_names_its_identity(shipyard_home):
    from shipyard.governance import directory
    from shipyard.governance.tokens import create_token

    directory.bootstrap_admin("root")
    token = create_token("laptop", identity="root").secret
    with TestClient(create_app(load_settings(), require_auth=True), raise_server_exceptions=False) as http:
        assert_problem(http.get("/api/v1/me"), 401)
        assert_problem(http.get("/api/v1/me", headers={"Authorization": "Bearer shy_nope"}), 401)
        me = http.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json() == {"name": "root", "kind": "user", "teams": [], "roles": {}, "platform_admin": True,
                         "authenticated": True}


def test_without_authentication_me_is_the_servers_local_identity(shipyard_home, monkeypatch):
    monkeypatch.setenv("SHIPYARD_ACTOR", "ops")
    with TestClient(create_app(load_settings(), require_auth=False), raise_server_exceptions=False) as http:
        me = http.get("/api/v1/me").json()
    assert (me["name"], me["kind"], me["authenticated"]) == ("ops", "local", False)
