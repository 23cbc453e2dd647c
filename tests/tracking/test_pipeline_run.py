"""What one pipeline run leaves in a real MLflow store."""

from mlflow.tracking import MlflowClient


def test_run_has_params_metrics_and_tags(tracked):
    result = tracked["result"]
    run = MlflowClient().get_run(result.mlflow_run_id)
    assert run.data.params["model.n_estimators"] == "20"
    assert run.data.params["model.flavor"] == "lightgbm"
    assert run.data.params["split.method"] == "stratified"
    assert run.data.metrics["roc_auc"] == 0.91
    assert run.data.metrics["slice.color.red.roc_auc"] == 0.7
    assert run.data.metrics["slice.color.blue green.roc_auc"] == 0.8
    assert run.data.tags["shipyard.pipeline_run_id"] == "run123"
    assert run.data.tags["shipyard.team"] == "research"
    assert run.data.tags["shipyard.data.train_digest"] == "b" * 64


def test_datasets_are_logged_with_our_digests(tracked):
    run = MlflowClient().get_run(tracked["result"].mlflow_run_id)
    inputs = {d.dataset.name: d for d in run.inputs.dataset_inputs}
    assert inputs["synth-train"].dataset.digest == "b" * 32
    assert inputs["synth-holdout"].dataset.digest == "c" * 32
    contexts = {d.dataset.name: {t.value for t in d.tags} for d in run.inputs.dataset_inputs}
    assert "training" in contexts["synth-train"] and "holdout" in contexts["synth-holdout"]


def test_artifacts_include_spec_environment_and_reports(tracked):
    client = MlflowClient()
    run_id = tracked["result"].mlflow_run_id
    top = {a.path for a in client.list_artifacts(run_id)}
    assert {"spec", "environment", "reports"} <= top
    assert {a.path for a in client.list_artifacts(run_id, "environment")} == {
        "environment/environment.json", "environment/requirements.txt"}
    reports = {a.path for a in client.list_artifacts(run_id, "reports")}
    assert {"reports/validation.json", "reports/metrics.json", "reports/sweep.json"} <= reports
    spec_file = client.download_artifacts(run_id, "spec/pipeline.yaml", str(tracked["home"]))
    assert "name: synth" in open(spec_file).read()


def test_sweep_trials_are_child_runs(tracked):
    result = tracked["result"]
    children = MlflowClient().search_runs(
        [result.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{result.mlflow_run_id}'")
    states = {r.data.tags["shipyard.trial_number"]: r.data.tags["shipyard.trial_state"] for r in children}
    assert states == {"0": "complete", "1": "pruned"}
    history = MlflowClient().get_metric_history(
        next(r for r in children if r.data.tags["shipyard.trial_number"] == "0").info.run_id, "roc_auc.fold_mean")
    assert [m.value for m in sorted(history, key=lambda m: m.step)] == [0.88, 0.9]


def test_registered_version_is_tagged(tracked):
    result = tracked["result"]
    version = MlflowClient().get_model_version("synth", result.model_version)
    assert version.tags["shipyard.pipeline_run_id"] == "run123"
    assert version.tags["shipyard.data.source_digest"] == "a" * 64
    assert version.tags["shipyard.data.holdout_digest"] == "c" * 64
    assert version.tags["shipyard.model_sha256"] == result.model_sha256
    assert version.tags["owner"] == "research"
    assert version.run_id == result.mlflow_run_id


def test_registering_again_for_the_same_pipeline_run_reuses_the_version(tracked):
    from shipyard.spec.loader import parse_spec
    from shipyard.tracking.pipeline_run import _registered_by

    again = _registered_by("synth", "run123")
    assert again == tracked["result"]
    assert _registered_by("synth", "other") is None
    assert parse_spec  # the spec module stays importable alongside MLflow
