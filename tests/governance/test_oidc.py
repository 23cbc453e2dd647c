"""JWTs from a test issuer (tests/oidc_issuer.py): its JWKS served over real HTTP on loopback."""

from __future__ import annotations

import time

import pytest
from oidc_issuer import AUDIENCE, ISSUER, new_key, serve_jwks, signed_jwt

from shipyard.config import load_settings
from shipyard.errors import SpecError, UnauthenticatedError
from shipyard.governance import oidc
from shipyard.governance.tokens import authenticate_bearer


@pytest.fixture(scope="module")
def keys():
    return {"signing": new_key(), "stranger": new_key()}


@pytest.fixture(scope="module")
def jwks_url(keys):
    with serve_jwks(keys["signing"].public_key()) as url:
        yield url
    oidc._clients.clear()


@pytest.fixture
def settings(jwks_url, tmp_path):
    return load_settings({"SHIPYARD_HOME": str(tmp_path), "SHIPYARD_OIDC_ISSUER": ISSUER,
                          "SHIPYARD_OIDC_AUDIENCE": AUDIENCE, "SHIPYARD_OIDC_JWKS_URL": jwks_url})


def _token(keys, *, key="signing", kid="k1", **overrides):
    return signed_jwt(keys[key], kid=kid, **overrides)


def test_a_valid_jwt_maps_its_claims_to_an_identity(keys, settings):
    identity = authenticate_bearer(_token(keys), settings=settings)
    assert identity.name == "alice" and identity.kind == "user" and identity.authenticated
    assert dict(identity.roles) == {"fraud": "developer", "risk": "approver"} and not identity.platform_admin
    admin = authenticate_bearer(_token(keys, preferred_username=None, groups=["platform:admin"]), settings=settings)
    assert admin.name == "0f3a" and admin.platform_admin


def test_the_roles_claim_is_configurable(keys, jwks_url, tmp_path):
    settings = load_settings({"SHIPYARD_HOME": str(tmp_path), "SHIPYARD_OIDC_ISSUER": ISSUER,
                              "SHIPYARD_OIDC_AUDIENCE": AUDIENCE, "SHIPYARD_OIDC_JWKS_URL": jwks_url,
                              "SHIPYARD_OIDC_ROLES_CLAIM": "shipyard_roles"})
    identity = authenticate_bearer(_token(keys, shipyard_roles="fraud:admin"), settings=settings)
    assert dict(identity.roles) == {"fraud": "admin"}


@pytest.mark.parametrize(("overrides", "problem"), [
    ({"exp": int(time.time()) - 60}, "has expired"),
    ({"aud": "someone-else"}, "not meant for this platform"),
    ({"iss": "https://evil.example.test"}, "not issued by"),
    ({"kid": "k2"}, "signing key is not among the issuer's keys"),
    ({"key": "stranger"}, "does not verify"),
])
def test_bad_jwts_are_refused(keys, settings, overrides, problem):
    with pytest.raises(UnauthenticatedError, match=problem) as refused:
        authenticate_bearer(_token(keys, **overrides), settings=settings)
    assert refused.value.hint


def test_without_oidc_a_jwt_is_not_accepted(keys, tmp_path):
    with pytest.raises(UnauthenticatedError, match="not an API token"):
        authenticate_bearer(_token(keys), settings=load_settings({"SHIPYARD_HOME": str(tmp_path)}))


def test_half_configured_oidc_is_a_clear_error(tmp_path):
    with pytest.raises(SpecError, match="SHIPYARD_OIDC_AUDIENCE, SHIPYARD_OIDC_JWKS_URL not"):
        load_settings({"SHIPYARD_HOME": str(tmp_path), "SHIPYARD_OIDC_ISSUER": ISSUER})
