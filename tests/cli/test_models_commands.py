"""`shipyard models …` and `shipyard audit …` on a real registry and store."""

from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from shipyard.cli import main as shipyard
from shipyard.config import load_settings
from shipyard.registry import lifecycle
from shipyard.store.db import get_engine
from shipyard.tracking.setup import configure_mlflow
from tracked_run import mlflow_home, tracked  # noqa: F401  (module-scoped fixtures)
from lifecycle_moves import move
from signed_model import signed_model_folder


@pytest.fixture
def two_versions(shipyard_home, tmp_path, monkeypatch):
    monkeypatch.setenv("SHIPYARD_ACTOR", "tester")
    configure_mlflow(load_settings())
    client = MlflowClient()
    client.create_registered_model("churn")
    for _ in range(2):
        version = client.create_model_version("churn", source=signed_model_folder(tmp_path / "m")).version
        lifecycle.register_candidate("churn", version, actor="pipeline")


def test_promote_list_rollback_and_audit(two_versions, capsys):
    assert shipyard(["models", "promote", "churn", "1", "--to", "staging"]) == 0
    assert shipyard(["models", "promote", "churn", "1", "--to", "production"]) == 6
    assert "has no passing gate report" in capsys.readouterr().err
    assert shipyard(["models", "override", "churn", "1", "--reason", "gates rerun after the holidays"]) == 0
    assert shipyard(["models", "promote", "churn", "1", "--to", "production", "--reason", "ok"]) == 0
    assert shipyard(["models", "override", "churn", "2", "--reason", "same"]) == 0
    assert shipyard(["models", "promote", "churn", "2"]) == 0
    assert shipyard(["models", "rollback", "churn", "--reason", "p99 too high"]) == 0
    out = capsys.readouterr().out
    assert "churn version 1 is back in production" in out
    assert shipyard(["models", "list", "churn"]) == 0
    listing = capsys.readouterr().out
    assert "production" in listing and "rolled_back" in listing
    assert shipyard(["audit", "log", "--model", "churn", "--json"]) == 0
    events = __import__("json").loads(capsys.readouterr().out)
    assert [e["action"] for e in events][-2:] == ["rolled_back", "rollback_promoted"]
    assert events[-1]["actor"] == "tester" and events[-1]["reason"] == "p99 too high"
    assert shipyard(["audit", "verify"]) == 0
    assert "chain intact over" in capsys.readouterr().out


def test_refusals_exit_non_zero_and_change_nothing(two_versions, capsys):
    assert shipyard(["models", "promote", "churn", "1"]) == 6
    assert "is candidate and cannot become production" in capsys.readouterr().err
    assert shipyard(["models", "approve", "churn", "1"]) == 6
    assert "must name the approver" in capsys.readouterr().err
    assert shipyard(["models", "promote", "churn", "7", "--to", "staging"]) == 8
    assert "has no version 7" in capsys.readouterr().err
    assert shipyard(["models", "rollback", "churn", "--reason", "x"]) == 6
    assert shipyard(["models", "promote", "churn", "1", "--to", "prod"]) == 2
    err = capsys.readouterr().err
    assert "error: usage error: --to 'prod' is not a state a version can be promoted to; allowed: staging, " \
           "production" in err and "invalid pipeline spec" not in err
    assert lifecycle.get_state("churn", 1).state == "candidate"


def test_audit_verify_fails_on_tampering(two_versions, capsys):
    from sqlalchemy import text

    with get_engine(load_settings()).begin() as connection:
        connection.execute(text("UPDATE audit_events SET actor = 'mallory' WHERE seq = 1"))
    assert shipyard(["audit", "verify"]) == 9
    assert "first bad event: 1" in capsys.readouterr().out


@pytest.fixture(scope="module")
def carded(tracked):
    from registry.test_cards import facts

    from shipyard.registry.cards import write_card

    record = write_card(facts(tracked["result"], model=tracked["result"].model_name), settings=tracked["settings"])
    return tracked["result"].model_name, str(tracked["result"].model_version), record


def test_models_card_prints_writes_and_locates_the_card(carded, tmp_path, capsys):
    model, version, record = carded
    capsys.readouterr()
    assert shipyard(["models", "card", model, version]) == 0
    assert capsys.readouterr().out.startswith(f"# Model card: {model} version {version}")
    page = tmp_path / "card.html"
    assert shipyard(["models", "card", model, version, "--html", str(page)]) == 0
    assert page.read_text().startswith("<!doctype html>") and str(page) in capsys.readouterr().out
    assert shipyard(["models", "card", model, version, "--json"]) == 0
    located = __import__("json").loads(capsys.readouterr().out)
    assert located["markdown"] == f"runs:/{record.mlflow_run_id}/model_card/model_card.md"
    assert located["html_sha256"] == record.html_sha256
    assert shipyard(["models", "card", model, version, "--json", "--html", str(page)]) == 2
    assert shipyard(["models", "card", model, "999"]) == 8
    assert "has no model card" in capsys.readouterr().err


def test_models_card_refuses_an_edited_card(carded, capsys):
    model, version, record = carded
    run = MlflowClient().get_run(record.mlflow_run_id)
    path = Path(run.info.artifact_uri.replace("file://", "")) / "model_card" / "model_card.md"
    original = path.read_text()
    try:
        path.write_text(original.replace("0.9100", "0.9900"))
        capsys.readouterr()
        assert shipyard(["models", "card", model, version]) == 9
        captured = capsys.readouterr()
        assert "model card changed" in captured.err and "0.9900" not in captured.out
    finally:
        path.write_text(original)
def test_verify_reports_a_deployment_out_of_step_with_the_registry(two_versions, capsys):
    from shipyard.serving.traffic import deploy
    from shipyard.store.db import session_scope

    move("churn", "1", "staging")
    assert shipyard(["models", "promote", "churn", "1"]) == 0
    move("churn", "2", "staging")
    deploy("churn", 1, actor="tester")
    with session_scope() as session:  # production moved without its traffic: a deploy cut in half
        lifecycle.apply_transition(session, "churn", "2", "production", actor="tester", by_deployment=True)
    capsys.readouterr()
    assert shipyard(["models", "verify", "churn", "2"]) == 6
    captured = capsys.readouterr()
    assert "repaired MLflow mirror of churn version 2 (production)" in captured.out
    assert "deployment out of step" in captured.err
    assert "the stable arm serves version 1, but the registry has version 2 in production" in captured.err
    assert "shipyard deploy churn 2" in captured.err
    assert shipyard(["deploy", "churn", "2"]) == 0
    assert shipyard(["models", "verify", "churn", "2"]) == 6  # the versions' folders hold no model file
    assert "churn: deployment and registry agree" in capsys.readouterr().out


def test_verify_puts_back_mlflow_aliases_and_tags_moved_by_hand(two_versions, capsys):
    client = MlflowClient()
    move("churn", "1", "staging")
    assert shipyard(["models", "promote", "churn", "1"]) == 0
    client.set_registered_model_alias("churn", "champion", "2")
    client.set_model_version_tag("churn", "2", "shipyard.state", "production")
    capsys.readouterr()
    assert shipyard(["models", "verify", "churn", "1"]) == 6  # the versions' folders hold no model file
    out = capsys.readouterr().out
    assert "repaired MLflow mirror of churn version 1 (production)" in out
    assert "repaired MLflow mirror of churn version 2 (candidate)" in out
    assert client.get_registered_model("churn").aliases == {"champion": 1}
    assert client.get_model_version("churn", "2").tags["shipyard.state"] == "candidate"
    assert shipyard(["models", "verify", "nope", "1"]) == 8
    assert "no registered model named 'nope'" in capsys.readouterr().err


def test_a_gate_override_is_listed_with_the_model_card(carded, capsys):
    model, version, _ = carded
    lifecycle.register_candidate(model, version, actor="pipeline")
    assert shipyard(["models", "override", model, version, "--reason", " "]) == 6
    assert "must give a reason" in capsys.readouterr().err
    assert shipyard(["models", "override", model, version, "--reason", "holdout too small this week"]) == 0
    assert "gates overridden" in capsys.readouterr().out
    assert shipyard(["models", "card", model, version]) == 0
    card = capsys.readouterr().out
    assert "## Gate overrides" in card and "(unauthenticated): holdout too small this week" in card
    assert shipyard(["models", "card", model, version, "--json"]) == 0
    overrides = __import__("json").loads(capsys.readouterr().out)["gate_overrides"]
    assert [(o["reason"], o["authenticated"]) for o in overrides] == [("holdout too small this week", False)]
