"""``ApiClient`` against a real server on loopback: answers, pages, and problems raised as the error tree's kinds."""

from __future__ import annotations

import pytest

from shipyard.client.http import ApiClient
from shipyard.errors import BackendError, ForbiddenError, NotFoundError, UnauthenticatedError, UsageError
from shipyard.serving.server import free_port


def test_a_missing_run_is_the_same_not_found_error_as_in_process(api_server):
    from shipyard.store import runs as store

    with pytest.raises(NotFoundError) as local:
        store.get_run("nope")
    with ApiClient(api_server.url, api_server.tokens["root"]) as api, pytest.raises(NotFoundError) as remote:
        api.get("/runs/nope")
    assert remote.value.render() == local.value.render()
    assert remote.value.exit_code == 8


def test_an_unknown_token_is_unauthenticated_with_the_login_hint(api_server):
    with ApiClient(api_server.url, "shy_not-a-token") as api, pytest.raises(UnauthenticatedError) as refused:
        api.get("/me")
    assert refused.value.hint == f"log in: shipyard login {api_server.url} --token TOKEN"
    assert refused.value.exit_code == 13
    with ApiClient(api_server.url) as api, pytest.raises(UnauthenticatedError):
        api.get("/runs")


def test_a_forbidden_change_keeps_its_kind_and_hint(api_server):
    from seeded_models import seed_model

    seed_model("churn", "growth", {"1": "candidate"})
    with ApiClient(api_server.url, api_server.tokens["vera"]) as api, pytest.raises(ForbiddenError) as refused:
        api.post("/models/churn/versions/1/promote", {"to": "staging"})
    assert refused.value.hint and refused.value.exit_code == 6


def test_a_request_the_api_rejects_is_a_usage_error(api_server):
    with ApiClient(api_server.url, api_server.tokens["root"]) as api, pytest.raises(UsageError) as refused:
        api.get("/runs", limit=0)
    assert "limit" in refused.value.message and refused.value.exit_code == 2


def test_a_server_that_is_not_running_is_a_backend_failure_naming_it():
    url = f"http://127.0.0.1:{free_port()}"
    with ApiClient(url, "shy_abc") as api, pytest.raises(BackendError) as down:
        api.get("/me")
    assert url in down.value.message and "shipyard server" in down.value.hint
    assert down.value.exit_code == 5


def test_me_names_the_identity_and_its_roles(api_server):
    with ApiClient(api_server.url, api_server.tokens["vera"]) as api:
        assert api.get("/me") == {"name": "vera", "kind": "user", "teams": ["growth"], "roles": {"growth": "viewer"},
                                  "platform_admin": False, "authenticated": True}


def test_pages_walks_every_page_of_a_list(api_server, monkeypatch):
    from shipyard.client import http
    from shipyard.governance.audit import read_events

    monkeypatch.setattr(http, "PAGE_SIZE", 2)
    with ApiClient(api_server.url, api_server.tokens["root"]) as api:
        seqs = [event["seq"] for event in api.pages("/audit")]
    assert seqs == [e.seq for e in read_events()] and len(seqs) > 2
