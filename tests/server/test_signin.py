"""``/api/v1/auth``: how to sign in, without a token."""

from __future__ import annotations

import dataclasses

from fastapi.testclient import TestClient


def test_token_sign_in_without_oidc(shipyard_home):
    from shipyard.config import load_settings
    from shipyard.server.app import create_app

    with TestClient(create_app(load_settings())) as http:
        assert http.get("/api/v1/auth").json() == {"tokens": True, "oidc": None}
    with TestClient(create_app(load_settings(), require_auth=False)) as http:
        assert http.get("/api/v1/auth").json() == {"tokens": False, "oidc": None}


def test_the_configured_issuer_is_advertised(shipyard_home):
    from shipyard.config import load_settings
    from shipyard.server.app import create_app

    settings = dataclasses.replace(load_settings(), oidc_issuer="https://login.example.com/realms/ml",
                                   oidc_audience="shipyard", oidc_jwks_url="https://login.example.com/jwks")
    with TestClient(create_app(settings)) as http:
        answer = http.get("/api/v1/auth")
        document = http.get("/openapi.json").json()
    assert answer.json() == {"tokens": True, "oidc": {"issuer": "https://login.example.com/realms/ml",
                                                      "audience": "shipyard"}}
    assert "security" not in document["paths"]["/api/v1/auth"]["get"]
    assert document["paths"]["/api/v1/me"]["get"]["security"] == [{"bearer": []}]
