"""Loading registered versions: digest verified, types allow-listed; MLflow's own loader agrees."""

import hashlib
from pathlib import Path

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from shipyard.errors import NotFoundError, RefusedError
from shipyard.registry.loading import load_model_version

def _model_file(result) -> Path:
    uri = MlflowClient().get_model_version_download_uri("synth", result.model_version)
    return Path(uri.replace("file://", "")) / "model.skops"


def test_loads_back_with_identical_predictions(tracked):
    model = load_model_version("synth", tracked["result"].model_version)
    holdout = tracked["holdout"][["x1", "x2", "color"]]
    assert np.array_equal(model.predict_proba(holdout), tracked["model"].predict_proba(holdout))


def test_mlflow_pyfunc_loads_with_the_declared_trusted_types(tracked, monkeypatch):
    import mlflow

    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")
    loaded = mlflow.pyfunc.load_model(f"models:/synth/{tracked['result'].model_version}")
    holdout = tracked["holdout"][["x1", "x2", "color"]]
    assert np.array_equal(loaded.predict(holdout), tracked["model"].predict(holdout))


def test_unknown_model_and_version(tracked):
    with pytest.raises(NotFoundError, match="no registered model named 'nope'"):
        load_model_version("nope", 1)
    with pytest.raises(NotFoundError, match="has no version 99"):
        load_model_version("synth", 99)


def test_tampered_model_file_is_refused(tracked):
    path = _model_file(tracked["result"])
    original = path.read_bytes()
    try:
        path.write_bytes(original + b"\0")
        with pytest.raises(RefusedError, match="changed after registration"):
            load_model_version("synth", tracked["result"].model_version)
    finally:
        path.write_bytes(original)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == tracked["result"].model_sha256
