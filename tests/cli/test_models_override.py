"""`shipyard models override` in-process and through a server on loopback: the same lines and exit codes."""

from __future__ import annotations

from mlflow.tracking import MlflowClient

from lifecycle_moves import move
from shipyard.config import load_settings
from shipyard.registry import lifecycle
from shipyard.tracking.setup import configure_mlflow
from signed_model import signed_model_folder
from twin_stores import twins  # noqa: F401  (fixture)


def test_overriding_gates_says_the_same_in_process_and_through_a_server(twins, tmp_path):
    def seed():
        configure_mlflow(load_settings())
        client = MlflowClient()
        client.create_registered_model("churn")
        for _ in range(3):
            version = client.create_model_version("churn", source=signed_model_folder(tmp_path / "m")).version
            lifecycle.register_candidate("churn", version, actor="pipeline")
        move("churn", "2", "staging")
        move("churn", "3", "archived")

    both = twins(seed)
    candidate, _ = both.same(["models", "override", "churn", "1", "--reason", "holdout too small this week"])
    assert candidate.out == "churn version 1: gates overridden, it is staging and may be deployed to production\n"
    both.same(["models", "override", "churn", "2", "--reason", "gates rerun after the holidays"])
    for argv, code, needle in [
        (["models", "override", "churn", "3", "--reason", "r"], 6, "only candidate or staging versions"),
        (["models", "override", "churn", "9", "--reason", "r"], 8, "churn"),
        (["models", "override", "churn", "2", "--reason", " "], 6, "must give a reason"),
    ]:
        both.same(argv, code=code, err=needle)
    assert lifecycle.get_state("churn", "1").state == "staging"
