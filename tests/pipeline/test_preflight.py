"""What can be known without training: each kind of finding at its file:line:col, all of them at once."""

import textwrap
from pathlib import Path

import pandas as pd
import pytest

from shipyard.errors import DataError, ShipyardError, SpecError, UserCodeError
from shipyard.pipeline.preflight import check, find_problems
from shipyard.spec.metrics import task_metrics
from shipyard.spec import load_spec

SPEC = textwrap.dedent("""\
    name: churn
    data:
      source: {type: csv, path: data/churn.csv}
      target: churned
      timestamp: signed_up
    expectations:
      columns:
        age: {min: 0}
    features:
      - name: numbers
        columns: [age, tenure]
        transforms: [{kind: impute}]
      - columns: [plan]
        transforms: [{kind: one_hot}]
    model:
      flavor: sklearn
      estimator: LogisticRegression
      params: {C: 1.0, max_iter: 200}
    evaluation: {metrics: [roc_auc, f1], slices: [plan]}
    promotion:
      gates:
        thresholds: ["roc_auc >= 0.6"]
""")


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    pd.DataFrame({"customer_id": ["C1", "C2", "C3", "C4"], "age": [30, 41, 25, 60], "tenure": [1, 20, 3, 48],
                  "plan": ["basic", "premium", "basic", "standard"], "churned": [1, 0, 1, 0],
                  "signed_up": ["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"]}
                 ).to_csv(tmp_path / "data" / "churn.csv", index=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(project: Path, text: str, *, name: str = "pipeline.yaml"):
    (project / name).write_text(text)
    return load_spec(project / name)


def problem(project: Path, text: str, *, read_data: bool = True) -> ShipyardError:
    loaded = write(project, text)
    with pytest.raises(ShipyardError) as caught:
        check(loaded=loaded, read_data=read_data)
    return caught.value


def test_the_valid_spec_has_no_findings(project):
    check(loaded=write(project, SPEC))
    assert find_problems(write(project, SPEC)) == []


# ---------------------------------------------------------------- the data


def test_missing_data_file(project):
    error = problem(project, SPEC.replace("data/churn.csv", "data/churm.csv"))
    assert isinstance(error, DataError)
    assert error.message == f"pipeline.yaml:3:29: data.source.path: data file {project}/data/churm.csv does not exist"
    assert "relative to the spec file's folder" in error.hint


def test_unknown_target_column(project):
    error = problem(project, SPEC.replace("target: churned", "target: churn"))
    assert isinstance(error, DataError)
    assert error.message == ("pipeline.yaml:4:11: data.target: column 'churn' is not in the data; "
                             "did you mean 'churned'?")
    assert error.hint == "the data has: customer_id, age, tenure, plan, churned, signed_up"


def test_unknown_timestamp_column(project):
    error = problem(project, SPEC.replace("timestamp: signed_up", "timestamp: signup"))
    assert error.message.startswith("pipeline.yaml:5:14: data.timestamp: column 'signup' is not in the data")


def test_unknown_feature_column(project):
    error = problem(project, SPEC.replace("[age, tenure]", "[age, tenur]"))
    assert error.message == ("pipeline.yaml:11:20: features[0].columns[1]: column 'tenur' is not in the data; "
                             "did you mean 'tenure'?")


def test_unknown_expectation_column(project):
    error = problem(project, SPEC.replace("age: {min: 0}", "agee: {min: 0}"))
    assert error.message == ("pipeline.yaml:8:5: expectations.columns.agee: column 'agee' is not in the data; "
                             "did you mean 'age'?")


def test_unknown_slice_column(project):
    error = problem(project, SPEC.replace("slices: [plan]", "slices: [plans]"))
    assert error.message.startswith("pipeline.yaml:19:47: evaluation.slices[0]: column 'plans' is not in the data")


def test_columns_after_a_user_step_rewires_the_frame_are_not_checked(project):
    (project / "enrich.py").write_text("def add(frame):\n    return frame.assign(tenur=frame.tenure)\n")
    text = SPEC.replace("[age, tenure]", "[age, tenur]") + textwrap.dedent("""\
        steps:
          - {name: enrich, function: 'enrich:add', inputs: {frame: validate.frame}}
        step_options:
          split: {inputs: {frame: enrich.result}}
    """)
    assert find_problems(write(project, text)) == []
    broken = text.replace("target: churned", "target: churn")
    assert [f.path for f in find_problems(write(project, broken))] == [("data", "target")]


def test_offline_skips_the_data_source(project):
    text = SPEC.replace("data/churn.csv", "s3-only/churn.csv").replace("[age, tenure]", "[age, tenur]")
    assert find_problems(write(project, text), read_data=False) == []
    check(loaded=write(project, text), read_data=False)
    error = problem(project, text.replace("estimator: LogisticRegression", "estimator: LogisticRegresion"),
                    read_data=False)
    assert error.message.startswith("pipeline.yaml:17:14: model.estimator: model.estimator 'LogisticRegresion' "
                                    "is not a sklearn estimator")


# ---------------------------------------------------------------- the model


def test_unknown_estimator_class(project):
    error = problem(project, SPEC.replace("estimator: LogisticRegression", "estimator: LogisticRegresion"))
    assert isinstance(error, SpecError)
    assert error.message == ("pipeline.yaml:17:14: model.estimator: model.estimator 'LogisticRegresion' is not a "
                             "sklearn estimator")
    assert "did you mean 'LogisticRegression'" in error.hint


def test_estimator_of_another_flavor(project):
    error = problem(project, SPEC.replace("estimator: LogisticRegression", "estimator: LGBMClassifier")
                    .replace("params: {C: 1.0, max_iter: 200}", "params: {}"))
    assert error.message == ("pipeline.yaml:17:14: model.estimator: model.estimator 'LGBMClassifier' is a lightgbm "
                             "estimator, but model.flavor is sklearn")
    assert error.hint == "set model.flavor: lightgbm, or choose a sklearn estimator"


def test_unknown_estimator_parameter(project):
    error = problem(project, SPEC.replace("max_iter: 200", "max_iters: 200"))
    assert error.message == ("pipeline.yaml:18:20: model.params.max_iters: LogisticRegression takes no parameter "
                             "'max_iters'; did you mean 'max_iter'?")
    assert error.hint.startswith("LogisticRegression takes: C, class_weight, dual,")


def test_unknown_lightgbm_parameter_despite_its_kwargs(project):
    model = "flavor: lightgbm\n  estimator: LGBMClassifier\n  params: {min_child_sample: 5, min_data_in_leaf: 3}"
    text = SPEC.replace("flavor: sklearn\n  estimator: LogisticRegression\n  params: {C: 1.0, max_iter: 200}", model)
    error = problem(project, text)
    assert error.message == ("pipeline.yaml:18:12: model.params.min_child_sample: LGBMClassifier takes no parameter "
                             "'min_child_sample'; did you mean 'min_child_samples'?")
    assert error.hint.endswith("and the booster parameters LightGBM documents")


def test_classifier_for_a_regression_task(project):
    error = problem(project, SPEC.replace("  flavor: sklearn", "  flavor: sklearn\n  task: regression")
                    .replace("metrics: [roc_auc, f1]", "metrics: [rmse]")
                    .replace("roc_auc >= 0.6", "rmse <= 3"))
    assert error.message == ("pipeline.yaml:17:9: model.task: model.estimator 'LogisticRegression' does "
                             "classification, but model.task is regression")
    assert error.hint == "set model.task: classification or choose an estimator for regression"
    both = problem(project, SPEC.replace("  flavor: sklearn", "  flavor: sklearn\n  task: regression")
                   .replace("metrics: [roc_auc, f1]", "metrics: [rmse]").replace("roc_auc >= 0.6", "rmse <= 3")
                   .replace("max_iter: 200", "max_iters: 200"))
    assert [line.split(": ")[1] for line in both.message.splitlines()[1:] if not line.startswith("      ")] == \
        ["model.task", "model.params.max_iters"]


def test_estimator_that_cannot_be_built_or_is_not_an_estimator(project):
    text = SPEC.replace("estimator: LogisticRegression", "estimator: StackingClassifier").replace(
        "params: {C: 1.0, max_iter: 200}", "params: {cv: 3}")
    error = problem(project, text)
    assert error.message.startswith("pipeline.yaml:18:3: model.params: StackingClassifier does not accept these "
                                    "parameters: ")
    assert "estimators" in error.message
    error = problem(project, SPEC.replace("estimator: LogisticRegression", "estimator: collections.OrderedDict"))
    assert error.message == ("pipeline.yaml:17:14: model.estimator: 'collections.OrderedDict' is not an estimator: "
                             "it has no fit and predict methods")


def test_sweep_over_a_parameter_the_estimator_does_not_take(project):
    text = SPEC.replace("evaluation:", "sweep:\n  metric: roc_auc\n  space:\n    c: {type: float, low: 0.1, high: 2}\n"
                                       "evaluation:")
    error = problem(project, text)
    assert error.message == ("pipeline.yaml:22:5: sweep.space.c: the sweep tunes 'c', which LogisticRegression "
                             "does not take; did you mean 'C'?")


# ---------------------------------------------------------------- metrics


def test_threshold_on_a_metric_no_task_computes(project):
    with pytest.raises(SpecError) as caught:
        problem(project, SPEC.replace("roc_auc >= 0.6", "auc >= 0.6"))
    assert caught.value.message.endswith(
        "pipeline.yaml:22:18: promotion.gates.thresholds[0]: 'auc >= 0.6': unknown metric 'auc'; "
        "did you mean 'pr_auc'? (allowed: roc_auc, pr_auc, log_loss, accuracy, precision, recall, f1, brier, "
        "rmse, mae, r2, mape)")


def test_champion_and_slice_gates_on_regression_metrics(project):
    text = SPEC + "    champion: {metric: rmse}\n    slices: {metric: mae}\n"
    error = problem(project, text)
    assert error.message.splitlines()[1:] == [
        "  pipeline.yaml:23:24: promotion.gates.champion.metric: the champion gate compares 'rmse', which a "
        "classification model never computes",
        "      hint: classification metrics: roc_auc, pr_auc, log_loss, accuracy, precision, recall, f1, brier",
        "  pipeline.yaml:24:22: promotion.gates.slices.metric: the slice guard compares 'mae', which a "
        "classification model never computes",
    ]


def test_evaluation_and_sweep_metrics_must_fit_the_task(project):
    text = SPEC.replace("metrics: [roc_auc, f1]", "metrics: [roc_auc, r2]").replace(
        "evaluation:", "sweep:\n  metric: rmse\n  space:\n    C: {type: float, low: 0.1, high: 2}\nevaluation:")
    lines = problem(project, text).message.splitlines()
    assert lines[1].startswith("  pipeline.yaml:20:11: sweep.metric: the sweep optimizes 'rmse', which a "
                               "classification model never computes")
    assert lines[3].startswith("  pipeline.yaml:23:33: evaluation.metrics[1]: evaluation.metrics names 'r2', "
                               "which a classification model never computes")


def test_computed_metrics_per_task():
    assert "roc_auc" in task_metrics("classification") and "rmse" not in task_metrics("classification")
    assert set(task_metrics("regression")) >= {"rmse", "mae", "r2"}


def test_missing_schema_contract(project):
    error = problem(project, SPEC + "    schema: {contract: contracts/v1.json}\n")
    assert error.message == (f"pipeline.yaml:23:24: promotion.gates.schema.contract: the schema contract "
                             f"{project}/contracts/v1.json does not exist")


# ---------------------------------------------------------------- user code


def test_missing_feature_module(project):
    text = SPEC.replace("transforms: [{kind: one_hot}]", "function: 'plan_features:make'")
    error = problem(project, text)
    assert isinstance(error, SpecError)
    assert error.message == ("pipeline.yaml:14:15: features[1].function: no module named 'plan_features' "
                             "(from 'plan_features:make')")


def test_step_function_missing_from_its_module(project):
    (project / "my_steps.py").write_text("def profile(frame):\n    return {}\n")
    text = SPEC + "steps:\n  - {name: report, function: 'my_steps:report', inputs: {frame: validate.frame}}\n"
    error = problem(project, text)
    assert error.message == ("pipeline.yaml:24:30: steps[0].function: module 'my_steps' has no attribute 'report' "
                             "(from 'my_steps:report')")
    assert error.hint == "callables it defines: profile"


def test_step_function_that_does_not_take_its_inputs(project):
    (project / "profile_steps.py").write_text("def profile(frame, *, bins=10):\n    return {}\n")
    text = SPEC + ("steps:\n  - {name: profile, function: 'profile_steps:profile', inputs: {table: validate.frame},"
                   " params: {bins: 5}}\n")
    error = problem(project, text)
    assert error.message.startswith("pipeline.yaml:24:31: steps[0].function: 'profile_steps:profile' cannot be called "
                                    "with table, bins: got an unexpected keyword argument 'table'")
    assert error.hint == "its signature is profile(frame, *, bins=10)"
    fixed = text.replace("table: validate.frame", "frame: validate.frame")
    assert find_problems(write(project, fixed)) == []
    unfed = text.replace("inputs: {table: validate.frame}, ", "")
    assert problem(project, unfed).message.startswith(
        "pipeline.yaml:24:31: steps[0].function: 'profile_steps:profile' cannot be called with bins: missing a "
        "required argument: 'frame'")


def test_user_module_that_fails_to_import(project):
    (project / "broken_steps.py").write_text("raise RuntimeError('no config today')\n")
    error = problem(project, SPEC + "steps:\n  - {name: s, function: 'broken_steps:run'}\n")
    assert isinstance(error, UserCodeError)
    assert "no config today" in error.message and error.message.startswith("pipeline.yaml:24:25: steps[0].function:")


# ---------------------------------------------------------------- all at once


def test_every_finding_at_once_in_file_order(project):
    text = (SPEC.replace("target: churned", "target: churn")
            .replace("[age, tenure]", "[age, tenur]")
            .replace("max_iter: 200", "max_iters: 200")
            .replace("roc_auc >= 0.6", "rmse <= 3")
            + "steps:\n  - {name: report, function: 'nowhere:report'}\n")
    error = problem(project, text)
    assert isinstance(error, SpecError)
    assert error.message.splitlines() == [
        "5 problems in pipeline.yaml:",
        "  pipeline.yaml:4:11: data.target: column 'churn' is not in the data; did you mean 'churned'?",
        "      hint: the data has: customer_id, age, tenure, plan, churned, signed_up",
        "  pipeline.yaml:11:20: features[0].columns[1]: column 'tenur' is not in the data; did you mean 'tenure'?",
        "  pipeline.yaml:18:20: model.params.max_iters: LogisticRegression takes no parameter 'max_iters'; "
        "did you mean 'max_iter'?",
        f"      hint: {error.message.splitlines()[5][len('      hint: '):]}",
        "  pipeline.yaml:22:18: promotion.gates.thresholds[0]: the threshold 'rmse <= 3' is on 'rmse', which a "
        "classification model never computes",
        "      hint: classification metrics: roc_auc, pr_auc, log_loss, accuracy, precision, recall, f1, brier",
        "  pipeline.yaml:24:30: steps[0].function: no module named 'nowhere' (from 'nowhere:report')",
        "      hint: user modules are found next to the pipeline YAML and on PYTHONPATH; check the file name and "
        "that it ends in .py",
    ]
    assert error.hint == "fix each one; `shipyard validate` checks them all without running anything"


# ---------------------------------------------------------------- a run checks first


def test_a_run_with_a_gate_on_an_unknown_metric_fails_before_any_step(project, shipyard_home):
    from shipyard.pipeline.api import run
    from shipyard.store import runs as store

    write(project, SPEC.replace("roc_auc >= 0.6", "mae <= 0.6"))
    result = run(project / "pipeline.yaml")
    assert result.status == "failed" and result.exit_code == 2 and result.error_kind == "SpecError"
    assert result.error.startswith("invalid pipeline spec: pipeline.yaml:22:18: promotion.gates.thresholds[0]: "
                                   "the threshold 'mae <= 0.6' is on 'mae', which a classification model never "
                                   "computes")
    assert {step["state"] for step in result.to_dict()["steps"]} == {"skipped"}
    assert [step.state for step in store.get_run(result.run_id).steps] == ["skipped"] * 8
    assert not (shipyard_home / "mlflow.db").exists() and not (shipyard_home / "mlartifacts").exists()


# ---------------------------------------------------------------- the rollout plan


def test_a_rollout_plan_asking_for_less_shadow_than_the_platform_points_at_it(project, monkeypatch):
    planned = SPEC + "deployment:\n  shadow: {duration_s: 1h}\n"
    check(loaded=write(project, planned))  # no platform minimum: the embedded default
    monkeypatch.setenv("SHIPYARD_MIN_SHADOW", "24h")
    error = problem(project, planned, read_data=False)
    assert isinstance(error, SpecError)
    assert error.message == ("pipeline.yaml:24:24: deployment.shadow.duration_s: a shadow phase of 3600 s is "
                             "shorter than the platform's min_shadow of 86400 s")
    assert "shipyard models override-shadow MODEL VERSION --reason TEXT" in error.hint
    check(loaded=write(project, planned.replace("1h", "2d")), read_data=False)  # more is fine
    error = problem(project, SPEC + "deployment:\n  canary: {steps: [50, 100]}\n", read_data=False)
    assert error.message == ("pipeline.yaml:23:1: deployment: the rollout plan has no shadow phase; add "
                             "'shadow: {duration_s: 86400}'")
    check(loaded=write(project, SPEC), read_data=False)  # no rollout plan: nothing is deployed
