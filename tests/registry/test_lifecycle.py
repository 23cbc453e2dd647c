"""The version lifecycle on the metadata store, mirrored to a real MLflow registry."""

import threading

import pytest
from mlflow.tracking import MlflowClient

from shipyard.config import load_settings
from shipyard.errors import BackendError, NotFoundError, RefusedError
from shipyard.governance.audit import read_events, verify_chain
from shipyard.registry import lifecycle
from shipyard.tracking.setup import configure_mlflow
from signed_model import signed_model_folder


@pytest.fixture
def registry(database_url, tmp_path):
    """Three registered versions of 'churn' in MLflow, known to the lifecycle as candidates."""
    settings = load_settings()
    configure_mlflow(settings)
    client = MlflowClient()
    client.create_registered_model("churn")
    for _ in range(3):
        version = client.create_model_version("churn", source=signed_model_folder(tmp_path / "model"))
        lifecycle.register_candidate("churn", version.version, actor="pipeline")
    return client


def _gated(version):
    """What a passing gate evaluation records (the gates themselves are tested in test_gating)."""
    return lifecycle.transition("churn", version, "staging", actor="shipyard-gates", action="gate_passed",
                                gate_verdict=True)


def _aliases(client):
    return {alias: str(version) for alias, version in client.get_registered_model("churn").aliases.items()}


def _mlflow_state(client, version):
    return client.get_model_version("churn", str(version)).tags.get("shipyard.state")


def test_registered_versions_start_as_candidates(registry):
    states = lifecycle.list_states("churn")
    assert [(s.version, s.state, s.synced) for s in states] == [("1", "candidate", True), ("2", "candidate", True),
                                                                ("3", "candidate", True)]
    assert _mlflow_state(registry, 1) == "candidate"


def test_promotion_moves_aliases_and_archives_the_previous_champion(registry):
    _gated(1)
    assert _aliases(registry) == {"challenger": "1"}
    lifecycle.transition("churn", 1, "production", actor="alice", reason="better AUC")
    assert _aliases(registry) == {"champion": "1"}
    _gated(2)
    lifecycle.transition("churn", 2, "production", actor="alice")
    assert _aliases(registry) == {"champion": "2"}
    assert lifecycle.get_state("churn", 1).state == "archived"
    assert lifecycle.production_version("churn") == "2"
    assert _mlflow_state(registry, 1) == "archived" and _mlflow_state(registry, 2) == "production"
    actions = [(e.action, e.version) for e in read_events(model="churn")][3:]
    assert actions == [("gate_passed", "1"), ("production", "1"), ("gate_passed", "2"), ("archived", "1"),
                       ("production", "2")]
    assert verify_chain().ok


def test_refused_transitions_change_nothing(registry):
    with pytest.raises(RefusedError, match="is candidate and cannot become production") as straight:
        lifecycle.transition("churn", 1, "production", actor="alice")
    assert "shipyard gate churn 1" in straight.value.hint
    for blank in ("", "  "):
        with pytest.raises(RefusedError, match="a rejection must give a reason"):
            lifecycle.reject("churn", 1, actor="alice", reason=blank)
    assert lifecycle.get_state("churn", 1).state == "candidate"
    lifecycle.reject("churn", 1, actor="gate", reason=" roc_auc 0.61 < 0.70 ")
    with pytest.raises(RefusedError, match="is rejected and cannot become staging"):
        lifecycle.transition("churn", 1, "staging", actor="alice")
    with pytest.raises(NotFoundError, match="has no version 9"):
        lifecycle.transition("churn", 9, "staging", actor="alice")
    with pytest.raises(NotFoundError, match="no model 'ghost'"):
        lifecycle.get_state("ghost", 1)
    assert lifecycle.get_state("churn", 1).state == "rejected"
    assert len(read_events(model="churn")) == 4


def test_concurrent_promotions_have_exactly_one_winner(registry):
    for version in (1, 2):
        _gated(version)
    outcomes = {}

    def promote(version):
        try:
            lifecycle.transition("churn", version, "production", actor=f"user{version}")
            outcomes[version] = "won"
        except RefusedError as exc:
            outcomes[version] = str(exc)

    threads = [threading.Thread(target=promote, args=(v,)) for v in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [v for v, o in outcomes.items() if o == "won"]
    production = lifecycle.production_version("churn")
    # Either one promotion was refused, or they ran one after the other and the later one replaced the
    # earlier: in both cases exactly one version is production and the audit chain is intact.
    assert production in {"1", "2"}
    assert [s.version for s in lifecycle.list_states("churn") if s.state == "production"] == [production]
    assert str(winners[-1]) == production or len(winners) == 1
    assert _aliases(registry).get("champion") == production
    assert verify_chain().ok


def test_an_interrupted_mirror_is_reconciled(registry):
    def broken_mirror(record, settings):
        raise ConnectionError("MLflow went away")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(lifecycle, "_mirror", broken_mirror)
        with pytest.raises(BackendError, match="recorded in the metadata store, but mirroring it to MLflow failed"):
            lifecycle.transition("churn", 3, "staging", actor="gate")
    assert lifecycle.get_state("churn", 3).synced is False
    assert _mlflow_state(registry, 3) == "candidate"
    repaired = lifecycle.reconcile()
    assert [(r.version, r.state) for r in repaired] == [("3", "staging")]
    assert _mlflow_state(registry, 3) == "staging"
    assert _aliases(registry) == {"challenger": "3"}
    assert lifecycle.get_state("churn", 3).synced is True


def test_manual_approval_must_name_the_approver(registry):
    from mlflow.tracking import MlflowClient as _Client

    version = _Client().create_model_version("churn", source="file:///tmp/m").version
    lifecycle.register_candidate("churn", version, actor="pipeline", approval="manual")
    _gated(version)
    with pytest.raises(RefusedError, match="needs a manual approval"):
        lifecycle.transition("churn", version, "production", actor="bob")
    with pytest.raises(RefusedError, match="must name the approver"):
        lifecycle.approve("churn", version, approver="  ")
    lifecycle.approve("churn", version, approver="carol")
    assert lifecycle.transition("churn", version, "production", actor="bob").state == "production"
    approval = [e for e in read_events(model="churn") if e.action == "approved"]
    assert approval[0].actor == "carol"


def test_rollback_returns_to_the_previous_production_version(registry):
    for version in (1, 2):
        _gated(version)
        lifecycle.transition("churn", version, "production", actor="alice")
    with pytest.raises(RefusedError, match="never reached production"):
        lifecycle.rollback("churn", actor="ops", reason="bad", to_version=3)
    restored = lifecycle.rollback("churn", actor="ops", reason="error rate 7% > 2%")
    assert restored.version == "1" and restored.state == "production"
    assert lifecycle.get_state("churn", 2).state == "rolled_back"
    assert _aliases(registry) == {"champion": "1"}
    assert verify_chain().ok
    with pytest.raises(RefusedError, match="must give a reason"):
        lifecycle.rollback("churn", actor="ops", reason="")


def test_a_version_in_use_cannot_be_archived_or_rejected(registry):
    from shipyard.registry.references import hold, holders, release

    hold("churn", 1, "deployment:churn-prod")
    for state in ("archived", "rejected"):
        with pytest.raises(RefusedError, match="in use by deployment:churn-prod"):
            lifecycle.transition("churn", 1, state, actor="ops")
    assert lifecycle.get_state("churn", 1).state == "candidate"
    release("churn", 1, "deployment:churn-prod")
    assert holders("churn", 1) == []
    assert lifecycle.transition("churn", 1, "archived", actor="ops").state == "archived"


def test_a_rollback_whose_contract_check_cannot_run_is_refused_unless_forced(registry, tmp_path):
    for version in ("1", "2"):
        _gated(version)
        lifecycle.transition("churn", version, "production", actor="gate")
    (tmp_path / "model" / "MLmodel").unlink()
    with pytest.raises(RefusedError, match="no readable input signature") as caught:
        lifecycle.rollback("churn", actor="bob", reason="slow")
    assert caught.value.headline == "compatibility not checked" and "--force" in caught.value.hint
    assert lifecycle.production_version("churn") == "2" and lifecycle.get_state("churn", "1").state == "archived"
    state = lifecycle.rollback("churn", actor="bob", reason="slow", force=True)
    assert state.version == "1" and state.state == "production"
    event = [e for e in read_events(model="churn") if e.action == "rollback_promoted"][-1]
    assert event.details["forced"] is True and event.details["compatibility"]["checked"] is False


def test_production_needs_a_passing_gate_report_or_an_override(registry):
    lifecycle.transition("churn", 1, "staging", actor="alice", action="promoted")
    with pytest.raises(RefusedError, match="has no passing gate report and cannot reach production") as refused:
        lifecycle.transition("churn", 1, "production", actor="alice")
    assert "shipyard gate churn 1" in refused.value.hint and "override" in refused.value.hint
    with pytest.raises(ValueError, match="only the gates"):
        lifecycle.transition("churn", 2, "staging", actor="alice", action="gate_passed")
    with pytest.raises(RefusedError, match="must give a reason"):
        lifecycle.override_gates("churn", 1, reason=" ")
    assert lifecycle.get_state("churn", 1).state == "staging"

    lifecycle.override_gates("churn", 1, reason="hotfix for the holiday traffic; gates rerun Monday")
    assert lifecycle.transition("churn", 1, "production", actor="alice").state == "production"
    overrides = lifecycle.gate_overrides("churn", 1)
    assert [(e.action, e.reason, e.authenticated) for e in overrides] == [
        ("gate_overridden", "hotfix for the holiday traffic; gates rerun Monday", False)]

    lifecycle.override_gates("churn", 2, reason="candidate cleared by hand")
    assert lifecycle.get_state("churn", 2).state == "staging"
    lifecycle.transition("churn", 3, "staging", actor="shipyard-gates", action="gate_failed", gate_verdict=True)
    with pytest.raises(RefusedError, match="failed its gates"):
        lifecycle.transition("churn", 3, "production", actor="alice")
    assert verify_chain().ok
