"""Loading registered versions: digest verified, types allow-listed; MLflow's own loader agrees."""

import contextlib
import hashlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from tracked_run import FEATURES, features, log_run, spec_from, split, synthetic_frame

from shipyard.errors import NotFoundError, RefusedError
from shipyard.registry.loading import load_model_version


def _model_file(tracked, version) -> Path:
    uri = tracked["client"].get_model_version_download_uri("synth", version)
    return Path(uri.removeprefix("file://")) / "model.skops"


@contextlib.contextmanager
def _replaced(path: Path, data: bytes):
    original = path.read_bytes()
    path.write_bytes(data)
    try:
        yield
    finally:
        path.write_bytes(original)


def test_loads_back_with_identical_predictions(tracked):
    model = load_model_version("synth", tracked["result"].model_version, settings=tracked["settings"])
    holdout = tracked["holdout"][FEATURES]
    assert np.array_equal(model.predict_proba(holdout), tracked["model"].predict_proba(holdout))


def test_settings_default_to_the_environment(tracked):
    model = load_model_version("synth", int(tracked["result"].model_version))
    assert type(model).__name__ == "Pipeline"


def test_mlflow_pyfunc_loads_with_the_declared_trusted_types(tracked, monkeypatch):
    import mlflow

    from shipyard.tracking.setup import configure_mlflow

    configure_mlflow(tracked["settings"])
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")
    loaded = mlflow.pyfunc.load_model(tracked["result"].model_uri)
    holdout = tracked["holdout"][FEATURES]
    assert np.array_equal(loaded.predict(holdout), tracked["model"].predict(holdout))


def test_unknown_model_and_version(tracked):
    with pytest.raises(NotFoundError, match="no registered model named 'nope'"):
        load_model_version("nope", 1)
    with pytest.raises(NotFoundError, match="has no version 99") as caught:
        load_model_version("synth", 99)
    assert tracked["result"].model_version in caught.value.hint
    with pytest.raises(NotFoundError, match="has no version latest"):
        load_model_version("synth", "latest")


def test_a_tampered_model_file_is_refused(tracked):
    path = _model_file(tracked, tracked["result"].model_version)
    with _replaced(path, path.read_bytes() + b"\0"):
        with pytest.raises(RefusedError, match="differ from those recorded at registration") as caught:
            load_model_version("synth", tracked["result"].model_version)
    assert "model.skops was changed" in caught.value.message and caught.value.headline == "model file changed"
    assert tracked["result"].model_sha256[:16] in caught.value.message
    assert hashlib.sha256(path.read_bytes()).hexdigest() == tracked["result"].model_sha256


@pytest.mark.parametrize("name", ["MLmodel", "input_example.json", "serving_input_example.json", "requirements.txt",
                                  "conda.yaml", "python_env.yaml"])
def test_every_file_of_the_model_folder_is_pinned(tracked, name):
    path = _model_file(tracked, tracked["result"].model_version).with_name(name)
    assert path.exists(), sorted(p.name for p in path.parent.iterdir())
    edited = path.read_bytes().replace(b"double", b"string") if name == "MLmodel" else path.read_bytes() + b"\n"
    assert edited != path.read_bytes()
    with _replaced(path, edited):
        with pytest.raises(RefusedError, match=f"{name} was changed"):
            load_model_version("synth", tracked["result"].model_version)
    load_model_version("synth", tracked["result"].model_version)


def test_an_added_or_removed_file_is_refused(tracked):
    folder = _model_file(tracked, tracked["result"].model_version).parent
    extra = folder / "extra.py"
    extra.write_text("print('hello')\n")
    try:
        with pytest.raises(RefusedError, match="extra.py was added"):
            load_model_version("synth", tracked["result"].model_version)
    finally:
        extra.unlink()
    example = folder / "input_example.json"
    with _replaced(example, b""):
        example.unlink()
        with pytest.raises(RefusedError, match="input_example.json is missing"):
            load_model_version("synth", tracked["result"].model_version)


def _evil_model() -> bytes:
    """A skops file whose loading would call ``builtins.eval`` with an argument of the file's choosing."""
    import skops.io as sio

    inner = json.loads(zipfile.ZipFile(io.BytesIO(sio.dumps(("1 + 1",)))).read("schema.json"))
    schema = {"__class__": "eval", "__module__": "builtins", "__loader__": "ConstructorFromReduceNode",
              "content": inner, "protocol": inner.pop("protocol")}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("schema.json", json.dumps(schema))
    return out.getvalue()


def test_a_swapped_file_is_refused_by_type_even_when_its_digest_was_rewritten(tracked):
    client, version = tracked["client"], tracked["result"].model_version
    path, evil = _model_file(tracked, version), _evil_model()
    manifest = client.get_model_version("synth", version).tags["shipyard.files_sha256"]
    rewritten = json.dumps({**json.loads(manifest), "model.skops": hashlib.sha256(evil).hexdigest()})
    with _replaced(path, evil):
        client.set_model_version_tag("synth", version, "shipyard.model_sha256", hashlib.sha256(evil).hexdigest())
        client.set_model_version_tag("synth", version, "shipyard.files_sha256", rewritten)
        try:
            with pytest.raises(RefusedError, match="builtins.eval"):
                load_model_version("synth", version)
        finally:
            client.set_model_version_tag("synth", version, "shipyard.model_sha256", tracked["result"].model_sha256)
            client.set_model_version_tag("synth", version, "shipyard.files_sha256", manifest)


def test_a_version_without_a_recorded_digest_is_refused(tracked):
    client = tracked["client"]
    source = client.get_model_version("synth", tracked["result"].model_version)
    bare = client.create_model_version("synth", source.source, run_id=source.run_id, model_id=source.model_id)
    with pytest.raises(RefusedError, match="no recorded model digest"):
        load_model_version("synth", bare.version)


def test_xgboost_pipeline_round_trips_through_the_registry(tracked):
    xgboost = pytest.importorskip("xgboost", reason="xgboost is an optional extra (pip install 'shipyard[xgboost]')")
    from sklearn.pipeline import Pipeline

    train, holdout = split(synthetic_frame(seed=3))
    model = Pipeline([("features", features()), ("estimator", xgboost.XGBClassifier(n_estimators=10))])
    model.fit(train[FEATURES], train["y"])
    spec = spec_from(name="synth_xgb", model={"flavor": "xgboost", "estimator": "XGBClassifier"})
    result, _, _ = log_run(tracked["settings"], spec=spec, model=model, train=train, holdout=holdout,
                           pipeline_run_id="xgb1", params={"n_estimators": 10})
    loaded = load_model_version("synth_xgb", result.model_version)
    assert np.array_equal(loaded.predict_proba(holdout[FEATURES]), model.predict_proba(holdout[FEATURES]))
    info = tracked["client"].get_model_version("synth_xgb", result.model_version)
    assert info.tags["shipyard.model_sha256"] == result.model_sha256


def test_a_changed_model_card_keeps_the_version_from_loading(tracked):
    from mlflow.tracking import MlflowClient

    from shipyard.registry.cards import CardFacts, write_card
    from shipyard.store.db import get_engine

    result, settings = tracked["result"], tracked["settings"]
    get_engine(settings)
    write_card(CardFacts(
        model="synth", version=result.model_version, pipeline="synth", description=None, team=None,
        pipeline_run_id="run123", mlflow_run_id=result.mlflow_run_id, flavor="lightgbm", estimator="LGBMClassifier",
        task="classification", data_source="csv", data_digests={}, rows={}, validation={}, features=[], params={},
        metrics={}, slice_metrics={}, environment={}), settings=settings)
    run = MlflowClient().get_run(result.mlflow_run_id)
    card = Path(run.info.artifact_uri.removeprefix("file://")) / "model_card" / "model_card.md"
    with _replaced(card, card.read_bytes().replace(b"LGBMClassifier", b"LinearRegression")):
        with pytest.raises(RefusedError, match="model_card/model_card.md was changed") as caught:
            load_model_version("synth", result.model_version, settings=settings)
    assert caught.value.headline == "model card changed"
    load_model_version("synth", result.model_version, settings=settings)
