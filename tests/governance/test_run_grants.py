"""A run's handed-down identity is accepted only as a grant the server signed for that run."""

import base64
import json
import stat

import pytest

from shipyard.config import load_settings
from shipyard.errors import UnauthenticatedError
from shipyard.governance import run_grants
from shipyard.governance.identity import Identity, encode_identity
from shipyard.governance.run_grants import issue_grant, redeem_grant

ALICE = Identity(name="alice", kind="user", roles={"fraud": "approver"}, authenticated=True)


def test_a_signed_grant_for_this_run_carries_the_identity(shipyard_home):
    settings = load_settings()
    grant = issue_grant(ALICE, "run-1", settings)
    assert redeem_grant(grant, "run-1", settings) == ALICE
    assert stat.S_IMODE((shipyard_home / run_grants.KEY_FILE).stat().st_mode) == 0o600


@pytest.mark.parametrize("forge, why", [
    (lambda grant: encode_identity(ALICE), "not a grant the server signed"),
    (lambda grant: grant.rsplit(".", 1)[0] + "." + "0" * 64, "signature does not match"),
    (lambda grant: base64.urlsafe_b64encode(json.dumps(
        {**json.loads(base64.urlsafe_b64decode(grant.split(".")[0])),
         "identity": encode_identity(Identity(name="mallory", kind="user", roles={"fraud": "admin"},
                                              authenticated=True))}).encode()).decode() + "." + grant.split(".")[1],
     "signature does not match"),
])
def test_a_typed_or_altered_grant_is_refused(shipyard_home, forge, why):
    settings = load_settings()
    grant = issue_grant(ALICE, "run-1", settings)
    with pytest.raises(UnauthenticatedError, match=why) as caught:
        redeem_grant(forge(grant), "run-1", settings)
    assert caught.value.exit_code == 13


def test_a_grant_for_another_run_or_past_its_lifetime_is_refused(shipyard_home, monkeypatch):
    settings = load_settings()
    grant = issue_grant(ALICE, "run-1", settings)
    with pytest.raises(UnauthenticatedError, match="granted for run run-1, not for this one"):
        redeem_grant(grant, "run-2", settings)
    monkeypatch.setattr(run_grants, "GRANT_LIFETIME_S", -1)
    with pytest.raises(UnauthenticatedError, match="expired"):
        redeem_grant(issue_grant(ALICE, "run-1", settings), "run-1", settings)


def test_a_key_other_users_can_read_signs_nothing_and_checks_nothing(shipyard_home):
    settings = load_settings()
    grant = issue_grant(ALICE, "run-1", settings)
    (shipyard_home / run_grants.KEY_FILE).chmod(0o644)
    with pytest.raises(UnauthenticatedError, match="no usable signing key"):
        redeem_grant(grant, "run-1", settings)
