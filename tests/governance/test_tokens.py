from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from shipyard.errors import ForbiddenError, RefusedError, UnauthenticatedError, UsageError
from shipyard.governance import directory, tokens
from shipyard.governance.audit import read_events, verify_chain
from shipyard.governance.identity import acting_as
from shipyard.store.db import session_scope
from shipyard.store.models import ApiToken


@pytest.fixture
def fraud_team(database_url):
    directory.bootstrap_admin("root")
    directory.create_team("fraud")
    directory.add_member("fraud", "alice", "developer")
    directory.add_member("fraud", "svc:ci", "developer")
    directory.add_member("fraud", "fran", "admin")
    directory.add_member("fraud", "bob", "viewer")
    return "fraud"


def test_a_token_is_shown_once_stored_as_its_hash_and_proves_its_identity(fraud_team):
    created = tokens.create_token("laptop", identity="alice")
    assert created.secret.startswith("shy_") and created.info.status() == "active"
    with session_scope() as session:
        stored = session.scalars(select(ApiToken)).one()
        columns = {c.name: getattr(stored, c.name) for c in ApiToken.__table__.columns}
    assert created.secret not in {str(v) for v in columns.values()}
    assert stored.token_hash == tokens.token_hash(created.secret)
    assert "secret" not in tokens.TokenInfo.__dataclass_fields__

    identity = tokens.authenticate_bearer(created.secret)
    assert identity.name == "alice" and identity.kind == "user" and identity.authenticated
    assert dict(identity.roles) == {"fraud": "developer"} and not identity.platform_admin
    assert tokens.list_tokens(identity="alice")[0].last_used_at is not None
    service = tokens.authenticate_bearer(tokens.create_token("ci", identity="svc:ci").secret)
    assert service.kind == "service" and service.name == "svc:ci"


def test_a_revoked_token_is_refused_at_once(fraud_team):
    created = tokens.create_token("laptop", identity="alice")
    tokens.authenticate_bearer(created.secret)
    tokens.revoke_token(created.info.id)
    with pytest.raises(UnauthenticatedError, match="was revoked") as refused:
        tokens.authenticate_bearer(created.secret)
    assert refused.value.exit_code == 13 and refused.value.hint
    with pytest.raises(RefusedError, match="already revoked"):
        tokens.revoke_token(created.info.id)
    assert tokens.list_tokens(identity="alice")[0].status() == "revoked"


def test_an_expired_token_is_refused(fraud_team):
    created = tokens.create_token("short", identity="alice", expires_in=timedelta(hours=1))
    with session_scope() as session:
        session.execute(update(ApiToken).values(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
    with pytest.raises(UnauthenticatedError, match="expired"):
        tokens.authenticate_bearer(created.secret)
    assert tokens.list_tokens(identity="alice")[0].status() == "expired"


def test_unknown_and_malformed_credentials_are_refused(fraud_team):
    for credential in ("shy_" + "x" * 43, "", "Basic abc", "a.b.c"):
        with pytest.raises(UnauthenticatedError):
            tokens.authenticate_bearer(credential)


def test_who_may_create_list_and_revoke_tokens(fraud_team):
    alice = tokens.authenticate_bearer(tokens.create_token("a", identity="alice").secret)
    fran = tokens.authenticate_bearer(tokens.create_token("f", identity="fran").secret)
    bob_token = tokens.create_token("b", identity="bob")
    with acting_as(alice):
        own = tokens.create_token("second")
        assert own.info.identity == "alice"
        assert {t.identity for t in tokens.list_tokens()} == {"alice"}
        with pytest.raises(ForbiddenError, match="alice may not create tokens for bob"):
            tokens.create_token("sneaky", identity="bob")
        with pytest.raises(ForbiddenError, match="may not revoke the tokens of bob"):
            tokens.revoke_token(bob_token.info.id)
        with pytest.raises(ForbiddenError):
            tokens.list_tokens(identity="bob")
    with acting_as(fran):  # a team admin manages its members' tokens
        tokens.create_token("ci-rotation", identity="svc:ci")
        tokens.revoke_token(bob_token.info.id)
    events = [e for e in read_events() if e.action in ("token_created", "token_revoked")]
    assert [(e.actor, e.authenticated) for e in events[-3:]] == [("alice", True), ("fran", True), ("fran", True)]
    assert verify_chain().ok


def test_bad_token_requests_change_nothing(fraud_team):
    from shipyard.errors import NotFoundError, UsageError

    before = len(read_events())
    with pytest.raises(UsageError):
        tokens.create_token(" ", identity="alice")
    with pytest.raises(UsageError):
        tokens.create_token("x", identity="alice", expires_in=timedelta(0))
    with pytest.raises(NotFoundError, match="no identity 'nobody'"):
        tokens.create_token("x", identity="nobody")
    with pytest.raises(NotFoundError):
        tokens.revoke_token("0000")
    assert len(read_events()) == before and tokens.list_tokens() == []


def test_a_token_carries_the_gateway_scopes_it_was_created_with(fraud_team):
    created = tokens.create_token("scorer", identity="svc:ci",
                                  scopes=["metrics", "inference:churn", "inference", "metrics"])
    assert created.info.scopes == ("inference", "inference:churn", "metrics")
    assert tokens.list_tokens(identity="svc:ci")[0].scopes == ("inference", "inference:churn", "metrics")
    assert tokens.create_token("api", identity="svc:ci").info.scopes == ()
    event = read_events()[-2]
    assert event.action == "token_created" and event.details["scopes"] == ["inference", "inference:churn", "metrics"]


@pytest.mark.parametrize("scope", ["admin", "metrics:churn", "inference:", "inference:a b", "", "Inference"])
def test_an_unknown_scope_is_refused_and_creates_nothing(fraud_team, scope):
    with pytest.raises(UsageError, match="is not a token scope") as refused:
        tokens.create_token("scorer", identity="svc:ci", scopes=["inference", scope])
    assert refused.value.hint
    assert tokens.list_tokens(identity="svc:ci") == []
