"""Loading pipeline YAML: a full spec loads; each mistake points at file:line:col with a fix."""

import textwrap

import pytest

from shipyard.errors import SpecError
from shipyard.spec import load_spec, parse_spec

FULL = textwrap.dedent("""\
    name: churn
    team: growth
    description: Predict which customers leave next month.
    data:
      source: {type: csv, path: data/churn.csv}
      target: churned
      timestamp: signup_at
    expectations:
      on_violation: drop
      row_count: {min: 100}
      columns:
        customer_id: {dtype: string, nullable: false, unique: true, regex: "^C[0-9]+$"}
        tenure_months: {dtype: int, min: 0, max: 240}
        plan: {allowed: [basic, standard, premium]}
    split: {method: time, holdout: 0.2, seed: 7}
    features:
      - name: numeric
        columns: [tenure_months, monthly_charges]
        transforms: [{kind: impute, strategy: median}, {kind: scale, method: standard}]
      - columns: [plan, region]
        transforms: [{kind: impute, strategy: most_frequent}, {kind: one_hot}]
      - columns: [support_calls]
        transforms: [{kind: clip, min: 0, max: 30}, {kind: log}, {kind: bucketize, bins: 4}]
    model:
      flavor: lightgbm
      estimator: LGBMClassifier
      params: {n_estimators: 200, learning_rate: 0.05, verbose: -1}
    sweep:
      n_trials: 8
      metric: roc_auc
      timeout: 5m
      space:
        num_leaves: {type: int, low: 8, high: 64}
        learning_rate: {type: float, low: 0.01, high: 0.3, log: true}
        boosting_type: {type: categorical, choices: [gbdt, dart]}
    evaluation: {metrics: [roc_auc, f1], slices: [plan]}
    registry: {model_name: churn_model, tags: {owner: growth}}
    resources: {cpu: 1, memory: 512MiB}
    retries: 1
    timeout: 10m
    steps:
      - name: profile
        function: my_steps:profile
        inputs: {frame: validate.frame}
        outputs: [summary]
    step_options:
      train: {resources: {cpu: 2, memory: 2GiB}, timeout: 30m}
""")


def error_of(text: str) -> str:
    with pytest.raises(SpecError) as caught:
        parse_spec(text, source="pipeline.yaml")
    return caught.value.message


def test_full_spec_loads_with_every_section(tmp_path):
    path = tmp_path / "pipeline.yaml"
    path.write_text(FULL)
    loaded = load_spec(path)
    spec = loaded.spec
    assert loaded.base_dir == tmp_path and loaded.path == path and len(loaded.digest) == 64
    assert spec.sweep.timeout == 300 and spec.timeout == 600
    assert spec.step_options["train"].resources.memory == 2 * 1024**3
    assert spec.resources.memory == 512 * 1024**2
    assert spec.model_name == "churn_model"
    assert spec.features[2].transforms[2].bins == 4
    assert spec.task() == "classification"
    with pytest.raises(Exception):
        spec.name = "other"  # frozen


def test_malformed_yaml_names_line_and_column():
    message = error_of("name: x\ndata: [1, 2\n")
    assert message.startswith("pipeline.yaml:3:1: malformed YAML")


def test_empty_file_and_non_mapping():
    assert "empty" in error_of("")
    assert "must be a mapping" in error_of("- a\n- b\n")


def test_misspelled_key_suggests_the_closest():
    message = error_of(FULL.replace("  estimator: LGBMClassifier", "  estimater: LGBMClassifier"))
    assert "pipeline.yaml:26:3: unknown key 'estimater' at model.estimater; did you mean 'estimator'?" in message
    assert "missing required key 'estimator' at model.estimator" in message


def test_unknown_top_level_key_lists_allowed_keys():
    message = error_of(FULL + "colour: red\n")
    assert "unknown key 'colour'" in message and "allowed: name, team" in message


def test_bad_discriminator_values():
    message = error_of(FULL.replace("type: csv", "type: excel"))
    assert "pipeline.yaml:5:12: data.source.type is 'excel', which is not allowed" in message
    assert "allowed: csv, parquet, sql, duckdb" in message
    message = error_of(FULL.replace("{kind: one_hot}", "{kind: onehot}"))
    assert "features[1].transforms[1].kind is 'onehot'" in message and "did you mean 'one_hot'?" in message


def test_bad_literal_and_wrong_type():
    message = error_of(FULL.replace("method: time", "method: randon"))
    assert "split.method is 'randon'" in message and "did you mean 'random'?" in message
    message = error_of(FULL.replace("n_trials: 8", "n_trials: many"))
    assert "sweep.n_trials" in message and "many" in message


def test_cross_field_rules_point_at_the_object():
    message = error_of(FULL.replace("  timestamp: signup_at\n", ""))
    assert "split method 'time' needs 'data.timestamp'" in message
    message = error_of(FULL.replace("min: 0, max: 240", "min: 300, max: 240"))
    assert "expectations.columns.tenure_months" in message and "greater than max" in message


def test_several_errors_are_reported_together():
    broken = FULL.replace("method: time", "method: nope").replace("n_trials: 8", "n_trials: 0")
    message = error_of(broken)
    assert message.startswith("2 problems in pipeline.yaml:")


def test_duplicate_keys_are_refused():
    assert "duplicate key" in error_of(FULL + "name: again\n")


def test_user_step_cannot_take_a_builtin_name():
    message = error_of(FULL.replace("name: profile", "name: train"))
    assert "built-in step" in message and "pipeline.yaml:42:5:" in message


def test_strings_stay_strings():
    spec = parse_spec(FULL.replace("owner: growth", "owner: on")).spec
    assert spec.registry.tags["owner"] == "on"


def test_missing_file():
    with pytest.raises(SpecError, match="no such file"):
        load_spec("/nonexistent/pipeline.yaml")
