"""Deployments in the metadata store: deploy, set traffic, roll back, rollout phases — on SQLite and PostgreSQL."""

import pytest
from mlflow.tracking import MlflowClient

from shipyard.config import load_settings
from shipyard.errors import NotFoundError, RefusedError, UsageError
from shipyard.governance.audit import read_events, verify_chain
from shipyard.registry import lifecycle
from shipyard.registry.references import holders
from shipyard.serving import rollout as rollouts
from shipyard.serving.deployments import find_deployment, get_deployment, list_deployments, revisions
from shipyard.serving.rollout import Window
from shipyard.serving.traffic import deploy, rollback, set_traffic
from shipyard.spec.deployment import DeploymentSpec
from shipyard.tracking.setup import configure_mlflow
from signed_model import signed_model_folder
from lifecycle_moves import move


@pytest.fixture
def churn(database_url, tmp_path):
    """Five registered versions of 'churn': 1 in production, 2 and 3 in staging, 4 a candidate, 5 rejected."""
    configure_mlflow(load_settings())
    client = MlflowClient()
    client.create_registered_model("churn")
    for _ in range(5):
        version = client.create_model_version("churn", source=signed_model_folder(tmp_path / "model"))
        lifecycle.register_candidate("churn", version.version, actor="pipeline")
    for version, path in (("1", ("staging", "production")), ("2", ("staging",)), ("3", ("staging",)),
                          ("5", ("rejected",))):
        for state in path:
            move("churn", version, state)
    return client


def _arms(state):
    return {a.role: (a.version, a.weight) for a in state.arms}


def test_blue_green_creates_the_deployment_and_holds_the_version(churn):
    assert find_deployment("churn") is None
    state = deploy("churn", 1, actor="alice")
    assert _arms(state) == {"stable": ("1", 0.0)} and state.revision == 1 and state.updated_by == "alice"
    assert holders("churn", "1") == ["deployment"]
    with pytest.raises(RefusedError, match="in use by deployment"):
        lifecycle.transition("churn", "1", "archived", actor="bob")
    assert revisions() == {"churn": 1} and [d.model for d in list_deployments()] == ["churn"]


def test_blue_green_to_a_staging_version_promotes_it_and_releases_the_old_one(churn):
    deploy("churn", 1, actor="alice")
    state = deploy("churn", 2, actor="alice", reason="better AUC")
    assert _arms(state) == {"stable": ("2", 0.0)} and state.revision == 2
    assert lifecycle.get_state("churn", "2").state == "production"
    assert lifecycle.get_state("churn", "1").state == "archived"
    assert holders("churn", "1") == [] and holders("churn", "2") == ["deployment"]
    changes = [e for e in read_events(model="churn") if e.action == "deployed"]
    assert changes[-1].details["before"] == [{"role": "stable", "version": "1", "weight": 0.0}]
    assert changes[-1].details["after"] == [{"role": "stable", "version": "2", "weight": 0.0}]
    assert verify_chain().ok


@pytest.mark.parametrize("strategy, weight, key, expected", [
    ("canary", None, None, ("3", 0.1)),
    ("canary", 0.25, None, ("3", 0.25)),
    ("ab", 0.5, "header:x-user-id", ("3", 0.5)),
    ("shadow", None, None, ("3", 1.0)),
])
def test_side_arms_sit_beside_the_stable_version(churn, strategy, weight, key, expected):
    deploy("churn", 1, actor="alice")
    state = deploy("churn", 3, strategy=strategy, weight=weight, routing_key=key, actor="alice")
    assert _arms(state)[strategy] == expected and _arms(state)["stable"] == ("1", 0.0)
    assert state.shares()["stable"] == pytest.approx(1 - (0 if strategy == "shadow" else expected[1]))
    assert holders("churn", "3") == ["deployment"]


def test_refusals_change_nothing(churn):
    with pytest.raises(RefusedError, match="no stable version deployed"):
        deploy("churn", 2, strategy="canary", actor="alice")
    with pytest.raises(NotFoundError, match="no version 42"):
        deploy("churn", 42, strategy="canary", actor="alice")
    with pytest.raises(NotFoundError, match="no model 'nobody'"):
        deploy("nobody", 1, strategy="shadow", actor="alice")
    deploy("churn", 1, actor="alice")
    before = get_deployment("churn")
    cases = [
        (lambda: deploy("churn", 4, strategy="canary", actor="a"), RefusedError, "is candidate and cannot be the canary"),
        (lambda: deploy("churn", 5, strategy="shadow", actor="a"), RefusedError, "is rejected"),
        (lambda: deploy("churn", 4, actor="a"), RefusedError, "only a staging or production version"),
        (lambda: deploy("churn", 2, strategy="ab", actor="a"), RefusedError, "needs a routing key"),
        (lambda: deploy("churn", 2, strategy="canary", weight=1.5, actor="a"), RefusedError, "not a share"),
        (lambda: deploy("churn", 2, strategy="warp", actor="a"), UsageError, "not a deployment strategy"),
        (lambda: deploy("churn", 2, strategy="ab", routing_key="cookie:x", actor="a"), UsageError, "routing key"),
        (lambda: deploy("churn", 9, strategy="canary", actor="a"), NotFoundError, "no registered version 9"),
        (lambda: set_traffic("churn", {"stable": None}, actor="a"), RefusedError, "cannot be removed"),
        (lambda: set_traffic("churn", {"canary": ("2", 0.7), "ab": ("3", 0.5)}, routing_key="header:u", actor="a"),
         RefusedError, "at most 100%"),
        (lambda: set_traffic("nope", {"canary": ("2", 0.1)}, actor="a"), NotFoundError, "not deployed"),
    ]
    for call, kind, needle in cases:
        with pytest.raises(kind, match=needle):
            call()
    assert get_deployment("churn") == before


def test_set_traffic_edits_arms_by_role(churn):
    deploy("churn", 1, actor="alice")
    state = set_traffic("churn", {"canary": ("2", 0.2), "shadow": ("4", 0.5)}, actor="bob")
    assert _arms(state) == {"stable": ("1", 0.0), "canary": ("2", 0.2), "shadow": ("4", 0.5)}
    state = set_traffic("churn", {"canary": ("2", 0.4), "shadow": None}, actor="bob", reason="more")
    assert _arms(state) == {"stable": ("1", 0.0), "canary": ("2", 0.4)}
    assert holders("churn", "4") == []
    event = [e for e in read_events(model="churn") if e.action == "traffic_changed"][-1]
    assert event.actor == "bob" and event.reason == "more" and event.details["revision"] == state.revision


def test_a_stale_revision_loses(churn):
    from shipyard.serving.deployments import Change, change

    state = deploy("churn", 1, actor="alice")
    set_traffic("churn", {"canary": ("2", 0.1)}, actor="bob")
    with pytest.raises(RefusedError, match="changed meanwhile"):
        change("churn", lambda before: Change(arms=list(before.arms)), actor="controller",
               expected_revision=state.revision)


def test_rollback_removes_the_canary_and_marks_it_rolled_back(churn):
    deploy("churn", 1, actor="alice")
    deploy("churn", 2, strategy="canary", weight=0.3, actor="alice")
    with pytest.raises(RefusedError, match="must give a reason"):
        rollback("churn", actor="bob", reason=" ")
    state = rollback("churn", actor="bob", reason="conversion dropped")
    assert _arms(state) == {"stable": ("1", 0.0)}
    assert lifecycle.get_state("churn", "2").state == "rolled_back"
    assert holders("churn", "2") == []


def test_rollback_without_a_canary_returns_production_to_the_previous_version(churn):
    deploy("churn", 1, actor="alice")
    deploy("churn", 2, actor="alice")
    state = rollback("churn", actor="bob", reason="latency regression")
    assert _arms(state) == {"stable": ("1", 0.0)}
    assert lifecycle.production_version("churn") == "1"
    assert lifecycle.get_state("churn", "2").state == "rolled_back"


PLAN = DeploymentSpec.model_validate({"shadow": {"duration_s": 1, "min_requests": 5},
                                      "canary": {"steps": [10, 50, 100], "min_dwell_s": 0, "min_requests": 20},
                                      "slo": {"max_error_rate": 0.05, "min_requests": 10}})


def test_first_rollout_takes_the_stable_arm_at_once(churn):
    state = rollouts.start_rollout("churn", "2", PLAN, actor="pipeline")
    assert _arms(state) == {"stable": ("2", 0.0)} and state.rollout["phase"] == "completed"
    assert lifecycle.get_state("churn", "2").state == "production"


def test_a_rollout_walks_shadow_then_canary_steps_then_becomes_stable(churn):
    deploy("churn", 1, actor="alice")
    state = rollouts.start_rollout("churn", "2", PLAN, actor="pipeline")
    assert state.rollout["phase"] == "shadow" and _arms(state)["shadow"] == ("2", 1.0)
    seen = []
    while state.rollout["phase"] != "completed":
        state = rollouts.advance("churn", state, {"trial": {"requests": 20}})
        seen.append((state.rollout["phase"], _arms(state).get("canary")))
    assert seen == [("canary", ("2", 0.1)), ("canary", ("2", 0.5)), ("canary", ("2", 1.0)), ("completed", None)]
    assert _arms(state) == {"stable": ("2", 0.0)}
    assert lifecycle.get_state("churn", "2").state == "production"
    assert [e.action for e in read_events(model="churn") if e.action.startswith("rollout")] == [
        "rollout_started", "rollout_advanced", "rollout_advanced", "rollout_advanced", "rollout_completed"]


def test_an_aborted_rollout_records_what_was_measured(churn):
    deploy("churn", 1, actor="alice")
    state = rollouts.start_rollout("churn", "3", PLAN.model_copy(update={"shadow": None}), actor="pipeline")
    assert _arms(state)["canary"] == ("3", 0.1)
    trial = Window(requests=40, errors=12, p99_ms=8.0, labels={"0": 28})
    reasons = rollouts.breaches(PLAN, trial, None)
    assert reasons == ["error rate 30.00% > 5.00%"]
    after = rollouts.abort("churn", state, reasons, {"trial": trial.to_dict()})
    assert _arms(after) == {"stable": ("1", 0.0)} and after.rollout["phase"] == "rolled_back"
    assert lifecycle.get_state("churn", "3").state == "rolled_back"
    event = [e for e in read_events(model="churn") if e.action == "rollout_rolled_back"][-1]
    assert event.details["measured"]["trial"]["error_rate"] == 0.3 and "30.00%" in event.reason
    with pytest.raises(RefusedError, match="changed meanwhile"):
        rollouts.advance("churn", state, {})


def test_a_manual_approval_holds_the_rollout_until_approved(churn):
    from shipyard.store.db import session_scope
    from shipyard.store.models import ModelVersionState

    with session_scope() as session:
        session.get(ModelVersionState, ("churn", "2")).approval = "manual"
    deploy("churn", 1, actor="alice")
    state = rollouts.start_rollout("churn", "2", PLAN, actor="pipeline")
    assert state.rollout["phase"] == "awaiting_approval" and _arms(state) == {"stable": ("1", 0.0)}
    assert holders("churn", "2") == ["deployment"]
    lifecycle.approve("churn", "2", approver="carol")
    state = rollouts.advance("churn", state, {"approved": True})
    assert state.rollout["phase"] == "shadow"


def test_a_developers_first_rollout_waits_for_an_approver_of_the_team(churn):
    from shipyard.errors import ForbiddenError
    from shipyard.governance.directory import record_owner
    from shipyard.governance.identity import Identity, acting_as
    from shipyard.store.db import session_scope

    with session_scope() as session:
        record_owner("churn", "growth", session=session)
    developer = Identity(name="dev", kind="user", roles={"growth": "developer"}, authenticated=True)
    outsider = Identity(name="rita", kind="user", roles={"risk": "admin"}, authenticated=True)
    with acting_as(outsider), pytest.raises(ForbiddenError, match="may not deploy.canary for team growth"):
        rollouts.start_rollout("churn", "2", PLAN, actor="rita")
    assert find_deployment("churn") is None
    with acting_as(developer):
        state = rollouts.start_rollout("churn", "2", PLAN, actor="dev")
    assert state.rollout["phase"] == "awaiting_approval" and _arms(state) == {}
    assert state.rollout["waiting_for"].startswith("an approver of team growth: dev may not deploy.production")
    assert lifecycle.get_state("churn", "2").state == "staging" and lifecycle.production_version("churn") == "1"
    started = [e for e in read_events(model="churn") if e.action == "rollout_started"][-1]
    assert (started.actor, started.authenticated) == ("dev", True)
    assert started.details["waiting_for"] == state.rollout["waiting_for"]
    approver = Identity(name="ann", kind="user", roles={"growth": "approver"}, authenticated=True)
    with acting_as(approver):
        lifecycle.approve("churn", "2")
    state = rollouts.advance("churn", state, {"approved": True})
    assert state.rollout["phase"] == "completed" and _arms(state) == {"stable": ("2", 0.0)}
    assert lifecycle.get_state("churn", "2").state == "production"


def test_an_approvers_first_rollout_takes_the_stable_arm_at_once(churn):
    from shipyard.governance.directory import record_owner
    from shipyard.governance.identity import Identity, acting_as
    from shipyard.store.db import session_scope

    with session_scope() as session:
        record_owner("churn", "growth", session=session)
    with acting_as(Identity(name="ann", kind="user", roles={"growth": "approver"}, authenticated=True)):
        state = rollouts.start_rollout("churn", "2", PLAN, actor="ann")
    assert state.rollout["phase"] == "completed" and "waiting_for" not in state.rollout
    assert lifecycle.get_state("churn", "2").state == "production"


def test_manual_traffic_cancels_a_rollout_in_flight(churn):
    deploy("churn", 1, actor="alice")
    rollouts.start_rollout("churn", "2", PLAN, actor="pipeline")
    state = set_traffic("churn", {"shadow": None}, actor="bob")
    assert state.rollout["phase"] == "cancelled" and "bob" in state.rollout["reason"]
    assert not state.rollout_active


def test_production_under_a_deployment_changes_only_through_it(churn):
    deploy("churn", 1, actor="alice")
    with pytest.raises(RefusedError, match="serves live traffic through a deployment") as caught:
        lifecycle.transition("churn", "2", "production", actor="bob")
    assert "shipyard deploy churn 2" in caught.value.hint
    assert lifecycle.production_version("churn") == "1"
    deploy("churn", 2, actor="alice")
    with pytest.raises(RefusedError, match="serves live traffic through a deployment") as caught:
        lifecycle.rollback("churn", actor="bob", reason="slow")
    assert "shipyard rollback churn" in caught.value.hint
    assert lifecycle.production_version("churn") == "2" and get_deployment("churn").stable_version == "2"


def test_a_refused_traffic_change_leaves_the_lifecycle_untouched(churn):
    deploy("churn", 1, actor="alice")
    before = get_deployment("churn")
    with pytest.raises(RefusedError, match="not a share"):
        set_traffic("churn", {"stable": ("2", None), "canary": ("3", 1.5)}, actor="bob")
    assert get_deployment("churn") == before
    assert lifecycle.production_version("churn") == "1" and lifecycle.get_state("churn", "2").state == "staging"
    assert lifecycle.get_state("churn", "1").state == "production"


def test_deployment_problems_name_a_stable_arm_the_registry_disagrees_with(churn):
    from shipyard.serving.deployments import deployment_problems
    from shipyard.store.db import session_scope

    deploy("churn", 1, actor="alice")
    assert deployment_problems("churn") == []
    with session_scope() as session:  # what a deploy split over two transactions left behind when killed
        touched = lifecycle.apply_transition(session, "churn", "2", "production", actor="alice", by_deployment=True)
    lifecycle.mirror_changes(touched, load_settings())
    assert deployment_problems("churn") == [
        "the stable arm serves version 1, but the registry has version 2 in production",
        "the stable arm serves version 1, which is archived"]
    deploy("churn", 2, actor="alice")
    assert deployment_problems("churn") == []


def test_the_python_api_in_a_fresh_process_checks_the_contract_in_the_configured_store(churn, tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    import shipyard

    deploy("churn", 1, actor="alice")
    deploy("churn", 2, actor="alice")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = "from shipyard.serving.traffic import rollback; rollback('churn', actor='bob', reason='slow')"
    env = {name: value for name, value in os.environ.items() if not name.startswith("MLFLOW_")}  # a fresh shell
    env = {**env, "PYTHONPATH": str(Path(shipyard.__file__).resolve().parents[1])}
    done = subprocess.run([sys.executable, "-c", code], cwd=elsewhere, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    restored = [e for e in read_events(model="churn") if e.action == "rollback_promoted"][-1]
    assert restored.version == "1" and restored.details["compatibility"]["checked"] is True
    assert list(elsewhere.iterdir()) == []
