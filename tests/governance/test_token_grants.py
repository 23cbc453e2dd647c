from __future__ import annotations

from datetime import timedelta

from shipyard.governance import directory, tokens
from shipyard.governance.token_grants import grants_revision, read_grants


def test_the_revision_changes_with_every_token_created_or_revoked_and_only_then(database_url):
    directory.bootstrap_admin("root")
    directory.create_team("research")
    directory.add_member("research", "svc:scorer", "viewer")
    empty = grants_revision()
    assert grants_revision() == empty and read_grants() == {}

    scorer = tokens.create_token("scorer", identity="svc:scorer", scopes=["inference:churn"],
                                 expires_in=timedelta(hours=1))
    created = grants_revision()
    assert created != empty
    tokens.authenticate_bearer(scorer.secret)  # using a token (last_used_at) is not a change
    assert grants_revision() == created

    grant = read_grants()[tokens.token_hash(scorer.secret)]
    assert (grant.token_id, grant.name, grant.identity) == (scorer.info.id, "scorer", "svc:scorer")
    assert grant.scopes == {"inference:churn"} and not grant.revoked
    assert grant.expires_at == scorer.info.expires_at.timestamp()

    tokens.revoke_token(scorer.info.id)
    assert grants_revision() != created
    assert read_grants()[tokens.token_hash(scorer.secret)].revoked
    api_only = tokens.create_token("api", identity="root", expires_in=None)
    grant = read_grants()[tokens.token_hash(api_only.secret)]
    assert grant.scopes == frozenset() and grant.expires_at is None
