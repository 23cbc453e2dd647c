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
                                                      "audience": "shipyard", "client_id": None,
                                                      "scopes": "openid profile"}}
    assert "security" not in document["paths"]["/api/v1/auth"]["get"]
    assert document["paths"]["/api/v1/me"]["get"]["security"] == [{"bearer": []}]


def test_the_dashboards_client_and_scopes_are_advertised(shipyard_home, monkeypatch):
    from shipyard.config import load_settings
    from shipyard.server.app import create_app

    for name, value in {"SHIPYARD_OIDC_ISSUER": "https://login.example.com", "SHIPYARD_OIDC_AUDIENCE": "shipyard",
                        "SHIPYARD_OIDC_JWKS_URL": "https://login.example.com/jwks",
                        "SHIPYARD_OIDC_CLIENT_ID": "shipyard-dashboard",
                        "SHIPYARD_OIDC_SCOPES": " openid  profile groups "}.items():
        monkeypatch.setenv(name, value)
    with TestClient(create_app(load_settings())) as http:
        oidc = http.get("/api/v1/auth").json()["oidc"]
    assert oidc["client_id"] == "shipyard-dashboard" and oidc["scopes"] == "openid profile groups"


def test_a_client_id_without_an_issuer_or_scopes_without_openid_are_refused(shipyard_home, monkeypatch):
    import pytest

    from shipyard.config import load_settings
    from shipyard.errors import SpecError

    monkeypatch.setenv("SHIPYARD_OIDC_CLIENT_ID", "shipyard-dashboard")
    with pytest.raises(SpecError, match="no issuer is configured"):
        load_settings()
    for name, value in {"SHIPYARD_OIDC_ISSUER": "https://login.example.com", "SHIPYARD_OIDC_AUDIENCE": "shipyard",
                        "SHIPYARD_OIDC_JWKS_URL": "https://login.example.com/jwks",
                        "SHIPYARD_OIDC_SCOPES": "profile"}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SpecError, match="lacks the 'openid' scope"):
        load_settings()
