"""`shipyard models …` and `shipyard audit …` on a real registry and store."""

import pytest
from mlflow.tracking import MlflowClient

from shipyard.cli import main as shipyard
from shipyard.config import load_settings
from shipyard.registry import lifecycle
from shipyard.store.db import get_engine
from shipyard.tracking.setup import configure_mlflow
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
    assert shipyard(["models", "promote", "churn", "1", "--to", "production", "--reason", "ok"]) == 0
    assert shipyard(["models", "promote", "churn", "2", "--to", "staging"]) == 0
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
    assert "hash chain verified" in capsys.readouterr().out


def test_refusals_exit_non_zero_and_change_nothing(two_versions, capsys):
    assert shipyard(["models", "promote", "churn", "1"]) == 6
    assert "is candidate and cannot become production" in capsys.readouterr().err
    assert shipyard(["models", "approve", "churn", "1"]) == 6
    assert "must name the approver" in capsys.readouterr().err
    assert shipyard(["models", "promote", "churn", "7", "--to", "staging"]) == 8
    assert "has no version 7" in capsys.readouterr().err
    assert shipyard(["models", "rollback", "churn", "--reason", "x"]) == 6
    assert shipyard(["models", "promote", "churn", "1", "--to", "prod"]) == 2
    assert lifecycle.get_state("churn", 1).state == "candidate"


def test_audit_verify_fails_on_tampering(two_versions, capsys):
    from sqlalchemy import text

    with get_engine(load_settings()).begin() as connection:
        connection.execute(text("UPDATE audit_events SET actor = 'mallory' WHERE seq = 1"))
    assert shipyard(["audit", "verify"]) == 9
    assert "first bad event: 1" in capsys.readouterr().out


def test_verify_reports_a_deployment_out_of_step_with_the_registry(two_versions, capsys):
    from shipyard.serving.traffic import deploy
    from shipyard.store.db import session_scope

    for argv in (["models", "promote", "churn", "1", "--to", "staging"], ["models", "promote", "churn", "1"],
                 ["models", "promote", "churn", "2", "--to", "staging"]):
        assert shipyard(argv) == 0
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
    assert shipyard(["models", "promote", "churn", "1", "--to", "staging"]) == 0
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
