"""The mandatory shadow stage: real deployments, rollouts and overrides in the metadata store (SQLite and
PostgreSQL)."""

import time
from datetime import timedelta

import pytest
from mlflow.tracking import MlflowClient

from shipyard.cli import main as shipyard
from shipyard.config import load_settings
from shipyard.errors import ForbiddenError, RefusedError
from shipyard.governance import directory
from shipyard.governance.audit import read_events, verify_chain
from shipyard.governance.identity import Identity, acting_as
from shipyard.governance.team_policy import set_team_policy
from shipyard.registry import lifecycle
from shipyard.serving import rollout as rollouts
from shipyard.serving.deployments import get_deployment
from shipyard.serving.shadow_stage import override_shadow, shadow_overrides, shadow_stage
from shipyard.serving.traffic import deploy, set_traffic
from shipyard.spec.deployment import DeploymentSpec
from shipyard.tracking.setup import configure_mlflow
from lifecycle_moves import move
from signed_model import signed_model_folder

DEVELOPER = Identity(name="dev", kind="user", roles={"growth": "developer"}, authenticated=True)
ADMIN = Identity(name="ada", kind="user", roles={"growth": "admin"}, authenticated=True)


@pytest.fixture
def churn(database_url, tmp_path, monkeypatch):
    """'churn' of team growth: version 1 serves as the stable arm, 2 and 3 are staging; the platform asks
    for 24 h of shadow."""
    configure_mlflow(load_settings())
    client = MlflowClient()
    client.create_registered_model("churn")
    directory.create_team("growth")
    for _ in range(3):
        version = client.create_model_version("churn", source=signed_model_folder(tmp_path / "model"))
        lifecycle.register_candidate("churn", version.version, actor="pipeline", team="growth")
    for version in ("1", "2", "3"):
        move("churn", version, "staging")
    deploy("churn", 1, actor="alice")  # a model's first version has no traffic to mirror: exempt
    monkeypatch.setenv("SHIPYARD_MIN_SHADOW", "24h")
    return client


def _arms(state):
    return {a.role: (a.version, a.weight) for a in state.arms}


def test_live_traffic_without_a_shadow_stage_is_refused_and_changes_nothing(churn):
    before = get_deployment("churn")
    for attempt in (lambda: deploy("churn", 2, strategy="canary", actor="alice"),
                    lambda: deploy("churn", 2, actor="alice"),
                    lambda: deploy("churn", 2, strategy="ab", routing_key="header:x-user", actor="alice"),
                    lambda: set_traffic("churn", {"canary": ("2", 0.1)}, actor="alice"),
                    lambda: set_traffic("churn", {"stable": ("2", None)}, actor="alice")):
        with pytest.raises(RefusedError) as refused:
            attempt()
        assert refused.value.headline == "shadow stage not passed"
        assert "churn version 2 has shadowed live traffic for 0 s, but the platform's SHIPYARD_MIN_SHADOW " \
               "requires 24 h" in refused.value.message
        assert "shipyard deploy churn 2 --strategy shadow" in refused.value.hint
        assert "shipyard models override-shadow churn 2 --reason TEXT" in refused.value.hint
    assert get_deployment("churn").revision == before.revision
    assert lifecycle.get_state("churn", "2").state == "staging"

    shadowed = deploy("churn", 2, strategy="shadow", actor="alice")  # mirroring is always allowed
    assert _arms(shadowed)["shadow"] == ("2", 1.0)
    with pytest.raises(RefusedError, match="has shadowed live traffic for .* but"):
        deploy("churn", 2, strategy="canary", actor="alice")
    stage = shadow_stage("churn", "2", now=shadowed.updated_at + timedelta(hours=24, seconds=1))
    assert stage.passed and stage.served_s >= 24 * 3600 and stage.required_s == 24 * 3600


def test_a_version_that_shadowed_long_enough_takes_live_traffic(churn, monkeypatch):
    monkeypatch.setenv("SHIPYARD_MIN_SHADOW", "0.3s")
    deploy("churn", 2, strategy="shadow", actor="alice")
    time.sleep(0.35)
    state = deploy("churn", 2, strategy="canary", weight=0.2, actor="alice")
    assert _arms(state)["canary"] == ("2", 0.2) and "shadow" not in _arms(state)
    assert deploy("churn", 2, strategy="canary", weight=0.5, actor="alice")  # already live: a new share
    assert shadow_stage("churn", "2").served_s >= 0.3  # the stage ended when the canary began
    assert lifecycle.get_state("churn", "2").state == "staging"


def test_skipping_the_stage_needs_the_override_right_and_is_its_own_audit_event(churn):
    with acting_as(DEVELOPER), pytest.raises(ForbiddenError, match="may not shadow.override for team growth"):
        override_shadow("churn", 2, reason="hotfix")
    with acting_as(ADMIN):
        with pytest.raises(RefusedError, match="must give a reason"):
            override_shadow("churn", 2, reason="  ")
        with pytest.raises(RefusedError, match="version 1 is production"):
            override_shadow("churn", 1, reason="r")
        assert shadow_overrides("churn", 2) == []
        event = override_shadow("churn", 2, reason="hotfix for the checkout outage")
    assert event.action == "shadow_overridden" and event.actor == "ada" and event.authenticated
    assert event.details == {"required_s": 86400.0, "policy": "the platform's SHIPYARD_MIN_SHADOW",
                             "allowed_s": 0.0}
    with acting_as(DEVELOPER):
        state = deploy("churn", 2, strategy="canary", actor="dev")
    assert _arms(state)["canary"] == ("2", 0.1)
    with pytest.raises(RefusedError, match="churn version 3 has shadowed live traffic for 0 s"):
        deploy("churn", 3, strategy="canary", actor="alice")  # an override is for one version
    assert verify_chain().ok


def test_a_shortened_shadow_phase_in_a_rollout_plan(churn):
    short = DeploymentSpec(shadow={"duration_s": 60, "min_requests": 10},
                           canary={"steps": [50, 100], "min_dwell_s": 0, "min_requests": 10},
                           slo={"min_requests": 10})
    with pytest.raises(RefusedError) as refused:
        rollouts.start_rollout("churn", "2", short, actor="pipeline")
    assert refused.value.headline == "shadow stage too short"
    assert "the rollout plan of churn version 2 has a shadow phase of 1 min, but the platform's " \
           "SHIPYARD_MIN_SHADOW requires 24 h" in refused.value.message
    assert "--min-shadow 60s" in refused.value.hint
    with pytest.raises(RefusedError, match="has no shadow phase"):
        rollouts.start_rollout("churn", "2", DeploymentSpec(), actor="pipeline")
    assert not get_deployment("churn").rollout

    full = short.model_copy(update={"shadow": short.shadow.model_copy(update={"duration_s": 86400})})
    assert rollouts.start_rollout("churn", "3", full, actor="pipeline").rollout["phase"] == "shadow"

    assert shipyard(["models", "override-shadow", "churn", "2", "--reason", "holiday freeze ends",
                     "--min-shadow", "60s"]) == 0
    started = rollouts.start_rollout("churn", "2", short, actor="pipeline")
    assert started.rollout["phase"] == "shadow" and _arms(started)["shadow"] == ("2", 1.0)
    overridden = [e for e in read_events(model="churn") if e.action == "shadow_overridden"]
    assert [(e.version, e.details["allowed_s"], e.reason) for e in overridden] == [("2", 60.0, "holiday freeze ends")]


def test_a_team_policy_asks_for_more_than_the_platform(churn, monkeypatch, capsys):
    set_team_policy("growth", min_shadow_s=48 * 3600)
    stage = shadow_stage("churn", "2")
    assert stage.required_s == 48 * 3600 and stage.source == "team growth's min_shadow"
    with acting_as(DEVELOPER), pytest.raises(ForbiddenError):
        set_team_policy("growth", min_shadow_s=0)
    monkeypatch.setenv("SHIPYARD_MIN_SHADOW", "72h")
    assert shadow_stage("churn", "2").required_s == 72 * 3600  # a team cannot ask for less than the platform
    capsys.readouterr()
    assert shipyard(["teams", "policy", "growth"]) == 0
    assert "growth: min_shadow 172800 s (platform: 259200 s; in force: 259200 s)" in capsys.readouterr().out


def test_the_embedded_default_asks_for_no_shadow_stage(churn, monkeypatch):
    monkeypatch.delenv("SHIPYARD_MIN_SHADOW")
    assert load_settings().min_shadow_s == 0
    assert _arms(deploy("churn", 2, strategy="canary", actor="alice"))["canary"] == ("2", 0.1)


def test_the_cli_refuses_with_the_hint_and_the_card_lists_the_override(churn, capsys):
    from shipyard.registry.cards import CardFacts, write_card

    capsys.readouterr()
    assert shipyard(["deploy", "churn", "2", "--strategy", "canary"]) == RefusedError.exit_code
    err = capsys.readouterr().err
    assert "shadow stage not passed: churn version 2 has shadowed live traffic for 0 s" in err
    assert "hint: mirror traffic to it first: shipyard deploy churn 2 --strategy shadow" in err
    assert shipyard(["deploy", "churn", "2", "--strategy", "blue-green"]) == RefusedError.exit_code

    run = churn.create_run(experiment_id="0")
    write_card(CardFacts(model="churn", version="2", pipeline="churn", description=None, team="growth",
                         pipeline_run_id="r1", mlflow_run_id=run.info.run_id, flavor="sklearn",
                         estimator="LogisticRegression", task="classification", data_source="csv: churn.csv",
                         data_digests={}, rows={}, validation={}, features=[], params={}, metrics={},
                         slice_metrics={}, environment={}))
    assert shipyard(["models", "override-shadow", "churn", "2", "--reason", "hotfix for the outage"]) == 0
    assert "churn version 2 may skip its shadow stage" in capsys.readouterr().out
    assert shipyard(["models", "card", "churn", "2"]) == 0
    card = capsys.readouterr().out
    assert "## Shadow-stage overrides" in card
    assert "skipped (required 86400 s): hotfix for the outage" in card and "(unauthenticated)" in card
    assert shipyard(["deploy", "churn", "2", "--strategy", "canary"]) == 0
