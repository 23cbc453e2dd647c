"""What one pipeline run leaves in a real MLflow store."""

import hashlib
import json
import math
from pathlib import Path

import pytest
from tracked_run import DIGESTS, FEATURES, SPEC, Identity, features, log_run, split, synthetic_frame

from shipyard.tracking.keys import mlflow_key


def _run(tracked):
    return tracked["client"].get_run(tracked["result"].mlflow_run_id)


def _artifact_text(tracked, path):
    local = tracked["client"].download_artifacts(tracked["result"].mlflow_run_id, path, str(tracked["home"]))
    return Path(local).read_text()


def test_one_run_in_the_experiment_named_after_the_pipeline(tracked):
    result = tracked["result"]
    experiment = tracked["client"].get_experiment_by_name("synth")
    assert experiment.experiment_id == result.experiment_id
    assert experiment.artifact_location == (tracked["home"] / "mlartifacts" / "synth").as_uri()
    run = _run(tracked)
    assert run.info.experiment_id == result.experiment_id
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "synth-run123"
    assert run.data.tags["mlflow.note.content"] == "A synthetic classification problem."


def test_params_carry_the_estimator_split_and_spec_facts(tracked):
    params = _run(tracked).data.params
    assert params["model.n_estimators"] == "20"
    assert params["model.verbose"] == "-1"
    assert params["spec.flavor"] == "lightgbm"
    assert params["spec.estimator"] == "LGBMClassifier"
    assert params["spec.task"] == "classification"
    assert (params["split.method"], params["split.holdout"], params["split.seed"]) == ("stratified", "0.3", "0")
    assert params["data.target"] == "y"
    assert (params["sweep.metric"], params["sweep.n_trials"]) == ("roc_auc", "3")


def test_metrics_overall_by_name_and_per_slice(tracked):
    metrics = _run(tracked).data.metrics
    assert metrics["roc_auc"] == 0.91 and metrics["f1"] == 0.8
    assert metrics["slice.color.red.roc_auc"] == 0.7
    assert metrics["slice.color.red.n"] == 30
    assert metrics["slice.color.blue green.roc_auc"] == 0.8
    assert metrics["sweep.best_value"] == 0.9


def test_run_tags_name_the_pipeline_run_team_data_and_commit(tracked):
    tags = _run(tracked).data.tags
    assert tags["shipyard.pipeline_run_id"] == "run123"
    assert tags["shipyard.pipeline"] == "synth"
    assert tags["shipyard.team"] == "research"
    assert tags["shipyard.spec_digest"] == hashlib.sha256(SPEC.encode()).hexdigest()
    assert {tags[f"shipyard.data.{part}_digest"] for part in DIGESTS} == set(DIGESTS.values())
    assert tags["mlflow.source.git.commit"] == tracked["commit"]
    assert tags["shipyard.git_dirty"] == "false"
    assert tags["mlflow.source.name"] == "pipeline.yaml"
    assert tags["owner"] == "research"


def test_datasets_are_logged_with_our_digests(tracked):
    inputs = {d.dataset.name: d for d in _run(tracked).inputs.dataset_inputs}
    assert set(inputs) == {"synth-train", "synth-holdout"}
    for part, context in (("train", "training"), ("holdout", "holdout")):
        logged = inputs[f"synth-{part}"]
        tags = {t.key: t.value for t in logged.tags}
        assert logged.dataset.digest == DIGESTS[part][:32]
        assert tags["mlflow.data.context"] == context
        assert tags["shipyard.digest"] == DIGESTS[part]
        assert json.loads(logged.dataset.source)["uri"].endswith("data/synth.csv")
    profile = json.loads(inputs["synth-train"].dataset.profile)
    assert profile["num_rows"] == 200
    schema = json.loads(inputs["synth-train"].dataset.schema)["mlflow_colspec"]
    assert [(c["name"], c["type"]) for c in schema][:2] == [("x1", "double"), ("x2", "double")]


def test_dataset_schema_is_the_one_mlflow_infers_from_every_row():
    import mlflow
    import numpy as np
    import pandas as pd

    from shipyard.tracking.pipeline_run import frame_schema

    rows = 500
    frame = pd.DataFrame({
        "text": [f"c{i % 7}" for i in range(rows)],
        "text_with_gaps": [None if i % 50 == 0 else f"v{i % 3}" for i in range(rows)],
        "ints": np.arange(rows, dtype="int64"),
        "small": (np.arange(rows) % 4).astype("int32"),
        "floats": np.linspace(0, 1, rows),
        "float_gaps": [np.nan if i % 9 == 0 else float(i) for i in range(rows)],
        "flags": [i % 2 == 0 for i in range(rows)],
        "category": pd.Categorical([("a", "b")[i % 2] for i in range(rows)]),
        "when": pd.date_range("2024-01-01", periods=rows, freq="h"),
        "ints_as_objects": pd.Series([i % 5 for i in range(rows)], dtype=object),
        "lists": [[i, i + 1] for i in range(rows)],
    })
    expected = mlflow.data.from_pandas(frame).schema
    assert frame_schema(frame) == expected
    assert frame_schema(frame).to_dict() == expected.to_dict()


def test_the_logged_model_carries_the_run_metrics(tracked):
    import mlflow

    from shipyard.tracking.setup import configure_mlflow

    configure_mlflow(tracked["settings"])
    run = _run(tracked)
    [output] = run.outputs.model_outputs
    logged = {m.key: m.value for m in mlflow.get_logged_model(output.model_id).metrics}
    assert logged == run.data.metrics
    assert logged["roc_auc"] == 0.91 and logged["slice.color.red.n"] == 30


def test_artifacts_spec_environment_reports_and_model(tracked):
    client, run_id = tracked["client"], tracked["result"].mlflow_run_id
    assert {a.path for a in client.list_artifacts(run_id)} == {"spec", "environment", "reports"}
    assert {a.path for a in client.list_artifacts(run_id, "environment")} == {
        "environment/environment.json", "environment/requirements.txt"}
    assert {a.path for a in client.list_artifacts(run_id, "reports")} == {
        "reports/validation.json", "reports/metrics.json", "reports/params.json", "reports/sweep.json"}
    assert _artifact_text(tracked, "spec/pipeline.yaml") == SPEC
    environment = json.loads(_artifact_text(tracked, "environment/environment.json"))
    assert environment["packages"]["mlflow"] and environment["git"]["commit"] == tracked["commit"]
    assert any(line.startswith("mlflow==") for line in _artifact_text(tracked, "environment/requirements.txt").split())
    assert json.loads(_artifact_text(tracked, "reports/validation.json")) == {"passed": True, "rows_in": 300}
    assert json.loads(_artifact_text(tracked, "reports/metrics.json"))["slices"]["color"]["red"]["n"] == 30


def test_model_is_logged_with_skops_signature_and_example(tracked):
    import mlflow

    from shipyard.tracking.setup import configure_mlflow

    configure_mlflow(tracked["settings"])
    run = _run(tracked)
    [output] = run.outputs.model_outputs
    logged = mlflow.get_logged_model(output.model_id)
    assert logged.source_run_id == run.info.run_id
    assert logged.artifact_location.startswith((tracked["home"] / "mlartifacts" / "synth").as_uri())
    info = mlflow.models.get_model_info(f"models:/{output.model_id}")
    assert info.flavors["sklearn"]["serialization_format"] == "skops"
    assert "lightgbm.sklearn.LGBMClassifier" in info.flavors["sklearn"]["skops_trusted_types"]
    assert [c["name"] for c in info.signature.inputs.to_dict()] == ["x1", "x2", "color"]
    assert info.saved_input_example_info is not None


def test_sweep_trials_are_child_runs(tracked):
    client, result = tracked["client"], tracked["result"]
    children = client.search_runs([result.experiment_id],
                                  filter_string=f"tags.mlflow.parentRunId = '{result.mlflow_run_id}'")
    by_number = {r.data.tags["shipyard.trial_number"]: r for r in children}
    assert {n: r.data.tags["shipyard.trial_state"] for n, r in by_number.items()} == {
        "0": "complete", "1": "pruned", "2": "fail"}
    assert {n: r.info.status for n, r in by_number.items()} == {"0": "FINISHED", "1": "FINISHED", "2": "FAILED"}
    assert by_number["0"].data.params == {"model.num_leaves": "15"}
    assert by_number["0"].data.metrics["roc_auc"] == 0.9
    assert "roc_auc" not in by_number["2"].data.metrics
    assert {r.data.tags["shipyard.pipeline_run_id"] for r in children} == {"run123"}
    history = client.get_metric_history(by_number["0"].info.run_id, "roc_auc.intermediate")
    assert [(m.step, m.value) for m in sorted(history, key=lambda m: m.step)] == [(0, 0.88), (1, 0.9)]


def test_registered_version_is_tagged(tracked):
    result, client = tracked["result"], tracked["client"]
    assert (result.model_name, result.model_uri) == ("synth", f"models:/synth/{result.model_version}")
    version = client.get_model_version("synth", result.model_version)
    tags = version.tags
    assert tags["shipyard.pipeline_run_id"] == "run123"
    assert tags["shipyard.data.source_digest"] == "a" * 64
    assert tags["shipyard.data.train_digest"] == "b" * 64
    assert tags["shipyard.data.holdout_digest"] == "c" * 64
    assert tags["shipyard.spec_digest"] == hashlib.sha256(SPEC.encode()).hexdigest()
    assert tags["shipyard.model_sha256"] == result.model_sha256
    assert tags["owner"] == "research"
    assert version.run_id == result.mlflow_run_id
    stored = Path(client.get_model_version_download_uri("synth", result.model_version).removeprefix("file://"))
    assert hashlib.sha256((stored / "model.skops").read_bytes()).hexdigest() == result.model_sha256


def test_logging_the_same_pipeline_run_again_returns_its_version(tracked):
    client = tracked["client"]
    before = client.search_runs([tracked["result"].experiment_id])
    again, _, _ = log_run(tracked["settings"], sweep=None)
    assert again == tracked["result"]
    assert len(client.search_runs([tracked["result"].experiment_id])) == len(before)


def test_awkward_names_and_values_are_made_acceptable(tracked):
    client = tracked["client"]
    result, _, _ = log_run(
        tracked["settings"], pipeline_run_id="awkward", params={"n_estimators": 20, "huge": "x" * 7000},
        metrics={"roc_auc": float("nan"), "f1": None, "note": "text"},
        slice_metrics={"city": {"a/b:c": {"roc_auc": 0.5, "n": 3}, "a_b_c": {"roc_auc": 0.6, "n": 4},
                                "../up": {"roc_auc": 0.1, "n": 1}}})
    run = client.get_run(result.mlflow_run_id)
    assert len(run.data.params["model.huge"]) <= 6000 and run.data.params["model.huge"].endswith("[truncated]")
    assert math.isnan(run.data.metrics["roc_auc"])
    assert "f1" not in run.data.metrics and "note" not in run.data.metrics
    slices = {k: v for k, v in run.data.metrics.items() if k.startswith("slice.city.") and k.endswith(".roc_auc")}
    assert slices[mlflow_key("slice", "city", "a/b:c", "roc_auc")] == 0.5
    assert slices["slice.city.a_b_c.roc_auc"] == 0.6
    assert sorted(slices.values()) == [0.1, 0.5, 0.6]
    assert all("/" not in key and ":" not in key for key in slices)
    assert int(result.model_version) > int(tracked["result"].model_version)


def test_a_model_with_types_outside_the_policy_is_not_registered(tracked):
    from lightgbm import LGBMClassifier
    from sklearn.pipeline import Pipeline

    from shipyard.errors import RefusedError
    from shipyard.registry.loading import load_model_version

    client, settings = tracked["client"], tracked["settings"]
    train, holdout = split(synthetic_frame(seed=5))
    model = Pipeline([("features", features()), ("custom", Identity()),
                      ("estimator", LGBMClassifier(n_estimators=5, verbose=-1))]).fit(train[FEATURES], train["y"])
    with pytest.raises(RefusedError, match="tracked_run.Identity"):
        log_run(settings, model=model, train=train, holdout=holdout, pipeline_run_id="unsafe")
    assert client.search_model_versions("tags.`shipyard.pipeline_run_id` = 'unsafe'") == []
    [failed] = client.search_runs([tracked["result"].experiment_id],
                                  filter_string="tags.`shipyard.pipeline_run_id` = 'unsafe'")
    assert failed.info.status == "FAILED"

    result, _, _ = log_run(settings, model=model, train=train, holdout=holdout, pipeline_run_id="custom",
                           extra_modules=("tracked_run",))
    with pytest.raises(RefusedError, match="tracked_run.Identity"):
        load_model_version("synth", result.model_version)
    loaded = load_model_version("synth", result.model_version, extra_modules=("tracked_run",))
    assert (loaded.predict(holdout[FEATURES]) == model.predict(holdout[FEATURES])).all()
