"""`shipyard models verify` on a real registered version: every file and the card checked against digests."""

from pathlib import Path

import pytest
from tracked_run import mlflow_home, tracked  # noqa: F401  (module-scoped fixtures)

from shipyard.cli import main as shipyard
from shipyard.registry import lifecycle


@pytest.fixture(scope="module")
def carded(tracked):
    from shipyard.registry.cards import CardFacts, write_card
    from shipyard.store.db import get_engine

    result, settings = tracked["result"], tracked["settings"]
    get_engine(settings)
    lifecycle.register_candidate("synth", result.model_version, actor="pipeline", settings=settings)
    write_card(CardFacts(
        model="synth", version=result.model_version, pipeline="synth", description=None, team=None,
        pipeline_run_id="run123", mlflow_run_id=result.mlflow_run_id, flavor="lightgbm", estimator="LGBMClassifier",
        task="classification", data_source="csv", data_digests={}, rows={}, validation={}, features=[], params={},
        metrics={}, slice_metrics={}, environment={}), settings=settings)
    folder = tracked["client"].get_model_version_download_uri("synth", result.model_version)
    return result.model_version, Path(folder.removeprefix("file://"))


def test_an_untouched_version_verifies(carded, capsys):
    version, _ = carded
    assert shipyard(["models", "verify", "synth", version]) == 0
    out = capsys.readouterr().out
    assert "every model file matches its registered digest" in out and "model card" in out


@pytest.mark.parametrize("name", ["MLmodel", "requirements.txt", "input_example.json"])
def test_a_changed_file_fails_verification_and_is_named(carded, capsys, name):
    version, folder = carded
    path = folder / name
    original = path.read_bytes()
    path.write_bytes(original.replace(b'"double"', b'"string"') if name == "MLmodel" else original + b" ")
    try:
        assert shipyard(["models", "verify", "synth", version]) == 9
    finally:
        path.write_bytes(original)
    err = capsys.readouterr().err
    assert "model file changed" in err and f"{name} was changed" in err
