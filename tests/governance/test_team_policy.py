"""A team's policy: set by its admins as audit events, the latest one in force."""

import pytest

from shipyard.errors import ForbiddenError, NotFoundError, UsageError
from shipyard.governance import directory
from shipyard.governance.audit import read_events, verify_chain
from shipyard.governance.identity import Identity, acting_as
from shipyard.governance.team_policy import POLICY_CHANGED, set_team_policy, team_policy


@pytest.fixture
def teams(shipyard_home):
    directory.create_team("growth")
    directory.create_team("fraud")


def test_the_latest_change_is_in_force_per_team(teams):
    assert team_policy("growth").min_shadow_s == 0 and team_policy(None).min_shadow_s == 0
    set_team_policy("growth", min_shadow_s=86400)
    set_team_policy("fraud", min_shadow_s=3600, reason="fraud models change weekly")
    policy = set_team_policy("growth", min_shadow_s=2 * 86400)
    assert (policy.team, policy.min_shadow_s) == ("growth", 2 * 86400)
    assert team_policy("fraud").min_shadow_s == 3600
    changes = [e for e in read_events() if e.action == POLICY_CHANGED]
    assert [e.details for e in changes] == [{"team": "growth", "min_shadow_s": 86400.0},
                                           {"team": "fraud", "min_shadow_s": 3600.0},
                                           {"team": "growth", "min_shadow_s": 172800.0}]
    assert changes[1].reason == "fraud models change weekly" and verify_chain().ok


def test_only_the_teams_admins_set_it_and_bad_input_changes_nothing(teams):
    before = len(read_events())
    with acting_as(Identity(name="dev", kind="user", roles={"growth": "approver"}, authenticated=True)):
        with pytest.raises(ForbiddenError, match="may not teams.manage for team growth"):
            set_team_policy("growth", min_shadow_s=60)
    with acting_as(Identity(name="ada", kind="user", roles={"growth": "admin"}, authenticated=True)):
        with pytest.raises(ForbiddenError):
            set_team_policy("fraud", min_shadow_s=60)
        for impossible in (-1, float("nan"), 367 * 86400):
            with pytest.raises(UsageError, match="not possible"):
                set_team_policy("growth", min_shadow_s=impossible)
        assert set_team_policy("growth", min_shadow_s=60).set_by == "ada"
    with pytest.raises(NotFoundError, match="there is no team 'risk'"):
        set_team_policy("risk", min_shadow_s=60)
    assert len(read_events()) == before + 1
