"""Loading pipeline YAML: valid specs load; each mistake points at file:line:col, the key path and a fix."""

import dataclasses
import hashlib
import subprocess
import sys
import textwrap

import pytest
from pydantic import ValidationError

from shipyard.errors import SpecError
from shipyard.spec import LoadedSpec, PipelineSpec, load_spec, parse_spec
from shipyard.spec.models import BUILTIN_STEPS

REPRESENTATIVE = textwrap.dedent("""\
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
    split: {method: stratified, holdout: 0.2, seed: 7}
    features:
      - name: numeric
        columns: [tenure_months, monthly_charges]
        transforms: [{kind: impute, strategy: median}, {kind: scale, method: standard}]
      - columns: [plan, region]
        transforms: [{kind: impute, strategy: most_frequent}, {kind: one_hot}]
    model:
      flavor: lightgbm
      estimator: LGBMClassifier
      params: {n_estimators: 200, learning_rate: 0.05, verbose: -1}
    sweep:
      n_trials: 8
      metric: roc_auc
      space:
        num_leaves: {type: int, low: 8, high: 64}
        learning_rate: {type: float, low: 0.01, high: 0.3, log: true}
    evaluation: {metrics: [roc_auc, f1], slices: [plan]}
    retries: 1
    timeout: 10m
    step_options:
      train: {resources: {cpu: 2, memory: 2GiB}, timeout: 30m}
""")

EVERY_SECTION = textwrap.dedent("""\
    name: churn-time
    team: growth
    description: Every section and most options.
    data:
      source: {type: duckdb, query: "SELECT * FROM 'data/churn.parquet'", database: null}
      target: churned
      timestamp: signup_at
    expectations:
      on_violation: fail
      row_count: {min: 100, max: 1000000}
      columns:
        tenure_months: {dtype: int, nullable: false, min: 0, max: 240}
    split: {method: time, cutoff: 2024-06-01, seed: 3}
    features:
      - name: numeric
        columns: [tenure_months]
        transforms: [{kind: clip, min: 0, max: 240}, {kind: log, offset: 1}, {kind: bucketize, bins: [1, 2, 4]}]
      - name: plans
        columns: [plan]
        transforms: [{kind: ordinal, categories: [basic, standard, premium]}]
      - columns: [region]
        transforms: [{kind: impute, strategy: constant, fill_value: unknown}, {kind: one_hot, max_categories: 5}]
      - columns: [has_partner]
        transforms: [{kind: passthrough}]
      - columns: [notes]
        transforms: [{kind: drop}]
      - columns: [calls]
        function: my_features:calls_per_month
    model:
      flavor: sklearn
      estimator: sklearn.ensemble.HistGradientBoostingRegressor
      task: regression
      params: {max_iter: 100}
    sweep:
      n_trials: 4
      metric: rmse
      timeout: 5m
      pruning: false
      cv_folds: 4
      sampler_seed: 11
      space:
        max_depth: {type: int, low: 2, high: 8, step: 2}
        learning_rate: {type: float, low: 0.01, high: 0.3, log: true}
        loss: {type: categorical, choices: [squared_error, absolute_error]}
    evaluation: {metrics: [rmse, mae], slices: [plan], threshold: 0.4}
    registry: {model_name: churn_days, tags: {owner: growth, tier: "1"}}
    promotion:
      approval: manual
      gates:
        thresholds: ["rmse <= 12"]
        champion: {metric: rmse, direction: minimize, min_delta: 0.5}
        slices: {metric: mae, direction: minimize, max_regression: 1.0}
        performance: {p99_ms_batch1: 20, max_size_mb: 50}
        schema: {contract: contract.json}
    deployment:
      shadow: {duration_s: 30, min_requests: 50}
      canary: {steps: [10, 50, 100], min_dwell_s: 60, min_requests: 100}
      slo: {max_error_rate: 0.02, max_p99_latency_ms: 40, max_prediction_shift: 0.2, min_requests: 50}
      routing_key: header:x-user-id
    monitoring:
      window: 30m
      psi: {warning: 0.15, critical: 0.3}
      retrain: auto
      cooldown: 12h
    resources: {cpu: 1, memory: 512MiB, gpu: 0}
    retries: 2
    timeout: 1h
    schedule: '0 3 * * 1'
    catchup: true
    steps:
      - name: profile
        function: my_steps:profile
        inputs: {frame: validate.frame}
        outputs: [summary]
        params: {bins: 10}
        resources: {cpu: 0.5}
        retries: 0
        timeout: 90s
    step_options:
      train: {resources: {cpu: 2, memory: 2GiB}, timeout: 30m, retries: 3}
      profile: {timeout: 2m}
    kubernetes: {image: 'registry.example.com/churn:1', namespace: ml, service_account: pipelines}
""")


def error_of(text: str, source: str = "pipeline.yaml") -> str:
    with pytest.raises(SpecError) as caught:
        parse_spec(text, source=source)
    assert caught.value.__cause__ is None
    return caught.value.message


def at(text: str, needle: str, nth: int = 1) -> str:
    """'line:col' (1-based) of the nth occurrence of needle in text."""
    index = -1
    for _ in range(nth):
        index = text.index(needle, index + 1)
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"{line}:{column}"


# ---------------------------------------------------------------- valid specs


def test_representative_spec_loads_from_a_file(tmp_path):
    path = tmp_path / "pipeline.yaml"
    path.write_text(REPRESENTATIVE)
    loaded = load_spec(path)
    assert isinstance(loaded, LoadedSpec)
    assert loaded.path == path.resolve() and loaded.base_dir == tmp_path.resolve()
    assert loaded.text == REPRESENTATIVE
    assert loaded.digest == hashlib.sha256(REPRESENTATIVE.encode()).hexdigest()
    spec = loaded.spec
    assert spec.name == "churn" and spec.data.source.type == "csv" and spec.data.source.path == "data/churn.csv"
    assert spec.expectations.columns["customer_id"].regex == "^C[0-9]+$"
    assert [t.kind for t in spec.features[1].transforms] == ["impute", "one_hot"]
    assert spec.model.params == {"n_estimators": 200, "learning_rate": 0.05, "verbose": -1}
    assert spec.sweep.space["learning_rate"].log is True and spec.sweep.direction == "maximize"
    assert spec.timeout == 600 and spec.step_options["train"].timeout == 1800
    assert spec.step_options["train"].resources.memory == 2 * 1024**3
    assert spec.task() == "classification"


def test_every_section_loads(tmp_path):
    spec = parse_spec(EVERY_SECTION, base_dir=tmp_path).spec
    assert spec.model_fields_set == set(PipelineSpec.model_fields)
    assert spec.data.source.type == "duckdb"
    assert spec.split.cutoff == "2024-06-01"  # an unquoted YAML date stays text
    assert [t.kind for g in spec.features for t in g.transforms] == [
        "clip", "log", "bucketize", "ordinal", "impute", "one_hot", "passthrough", "drop"]
    assert spec.features[5].function == "my_features:calls_per_month"
    assert spec.sweep.direction == "minimize"  # rmse is lower-is-better
    assert spec.deployment.canary.steps == [10, 50, 100] and spec.deployment.shadow.duration_s == 30
    assert spec.monitoring.window == 1800 and spec.monitoring.psi.critical == 0.3 and spec.monitoring.cooldown == 43200
    assert spec.sweep.timeout == 300 and spec.steps[0].timeout == 90 and spec.timeout == 3600
    assert spec.registry.tags == {"owner": "growth", "tier": "1"}
    assert spec.resources.memory == 512 * 1024**2
    assert spec.model_name == "churn_days" and spec.task() == "regression"
    assert spec.kubernetes.namespace == "ml" and spec.kubernetes.env_secret == "shipyard-stores"


def test_loaded_spec_and_spec_are_frozen():
    loaded = parse_spec(REPRESENTATIVE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        loaded.text = "other"
    with pytest.raises(ValidationError):
        loaded.spec.name = "other"


def test_parse_spec_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    loaded = parse_spec(REPRESENTATIVE)
    assert loaded.path is None and loaded.base_dir == tmp_path.resolve()
    assert parse_spec(REPRESENTATIVE, base_dir=tmp_path / "sub").base_dir == (tmp_path / "sub").resolve()


def test_the_raw_text_is_kept_byte_for_byte(tmp_path):
    raw = REPRESENTATIVE.replace("\n", "\r\n")
    path = tmp_path / "pipeline.yaml"
    path.write_bytes(raw.encode())
    loaded = load_spec(path)
    assert loaded.text == raw
    assert loaded.digest == hashlib.sha256(raw.encode()).hexdigest() != parse_spec(REPRESENTATIVE).digest


@pytest.mark.parametrize("word", ["on", "off", "yes", "no", "y", "n"])
def test_yaml_1_2_words_stay_strings(word):
    spec = parse_spec(REPRESENTATIVE.replace("target: churned", f"target: {word}")).spec
    assert spec.data.target == word


def test_merge_keys_and_aliases_work():
    text = REPRESENTATIVE.replace("  train: {resources: {cpu: 2, memory: 2GiB}, timeout: 30m}\n", (
        "  train: &heavy {resources: {cpu: 2, memory: 2GiB}, timeout: 30m}\n"
        "  evaluate:\n"
        "    <<: *heavy\n"
        "    retries: 2\n"))
    options = parse_spec(text).spec.step_options
    assert options["evaluate"].resources.cpu == 2 and options["evaluate"].retries == 2


# ---------------------------------------------------------------- YAML-level mistakes


def test_malformed_yaml_names_line_and_column():
    message = error_of("name: x\ndata: [1, 2\n")
    assert message.startswith("pipeline.yaml:3:1: malformed YAML: while parsing a flow sequence (line 2), "
                              "expected ',' or ']'")


def test_tabs_get_their_own_hint():
    with pytest.raises(SpecError) as caught:
        parse_spec(REPRESENTATIVE.replace("  target: churned", "\ttarget: churned"), source="pipeline.yaml")
    line = at(REPRESENTATIVE, "target: churned").split(":")[0]
    assert caught.value.message.startswith(f"pipeline.yaml:{line}:1: malformed YAML")
    assert "tabs" in caught.value.hint


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "---\n"])
def test_empty_file(text):
    assert error_of(text) == "pipeline.yaml:1:1: the file is empty"


@pytest.mark.parametrize(("text", "kind"), [("- a\n- b\n", "not a list"), ("just words\n", "not a single value")])
def test_top_level_must_be_a_mapping(text, kind):
    message = error_of(text)
    assert message.startswith("pipeline.yaml:1:1: the top level must be a mapping of keys") and kind in message


def test_duplicate_keys_are_refused_with_position():
    text = REPRESENTATIVE.replace("  target: churned\n", "  target: churned\n  target: other\n")
    message = error_of(text)
    assert message.startswith(f"pipeline.yaml:{at(text, 'target: other')}: duplicate key 'target'")


def test_yaml_1_1_booleans_are_refused_where_text_is_expected():
    text = "%YAML 1.1\n---\n" + REPRESENTATIVE.replace("target: churned", "target: on")
    message = error_of(text)
    where = at(text, "target: on").replace(":3", ":11")
    assert f"pipeline.yaml:{where}: data.target: should be a string; put the value in quotes" in message
    assert "(got True)" in message


def test_unsupported_tags_are_refused():
    text = REPRESENTATIVE.replace("target: churned", "target: !env CHURN_COLUMN")
    message = error_of(text)
    assert message == f"pipeline.yaml:{at(text, '!env')}: data.target: the YAML tag '!env' is not supported; remove it"


def test_multiple_documents_are_refused():
    message = error_of(REPRESENTATIVE + "---\nname: second\n")
    assert "malformed YAML: expected a single document in the stream" in message


# ---------------------------------------------------------------- keys


def test_misspelled_key_suggests_the_closest_and_lists_the_valid_ones():
    text = REPRESENTATIVE.replace("  estimator: LGBMClassifier", "  estimater: LGBMClassifier")
    message = error_of(text)
    assert message == (f"pipeline.yaml:{at(text, 'estimater')}: model.estimater: unknown key; did you mean "
                       "'estimator'? (valid keys here: flavor, estimator, task, params)")


def test_unknown_top_level_key():
    text = REPRESENTATIVE + "colour: red\n"
    message = error_of(text)
    assert message.startswith(f"pipeline.yaml:{at(text, 'colour')}: colour: unknown key (valid keys here: name, team,")
    assert "did you mean" not in message


def test_unknown_key_inside_a_dict_of_models():
    text = REPRESENTATIVE.replace("{dtype: int, min: 0", "{dtyp: int, min: 0")
    message = error_of(text)
    assert message == (f"pipeline.yaml:{at(text, 'dtyp:')}: expectations.columns.tenure_months.dtyp: unknown key; "
                       "did you mean 'dtype'? (valid keys here: dtype, nullable, min, max, allowed, unique, regex)")


def test_unknown_key_inside_a_union_member():
    text = REPRESENTATIVE.replace("path: data/churn.csv", "pth: data/churn.csv")
    message = error_of(text)
    assert message == (f"pipeline.yaml:{at(text, 'pth')}: data.source.pth: unknown key; did you mean 'path'? "
                       "(valid keys here: type, path, delimiter)")
    text = REPRESENTATIVE.replace("{kind: one_hot}", "{kind: one_hot, max_cats: 3}")
    assert "features[1].transforms[1].max_cats: unknown key; did you mean 'max_categories'?" in error_of(text)


def test_a_column_named_like_a_union_tag_keeps_its_path():
    text = REPRESENTATIVE.replace("plan: {allowed", "log: {dtype: integer, allowed")
    assert f"pipeline.yaml:{at(text, 'integer')}: expectations.columns.log.dtype: 'integer'" in error_of(text)


def test_missing_key_points_at_the_parent_mapping():
    text = REPRESENTATIVE.replace("  target: churned\n", "")
    assert error_of(text) == f"pipeline.yaml:{at(text, 'data:')}: data.target: missing required key 'target'"
    text = REPRESENTATIVE.replace("model:\n  flavor: lightgbm\n", "model:\n")
    assert error_of(text) == f"pipeline.yaml:{at(text, 'model:')}: model.flavor: missing required key 'flavor'"
    text = REPRESENTATIVE.replace("  - columns: [plan, region]\n    transforms", "  - transforms")
    message = error_of(text)
    assert message == (f"pipeline.yaml:{at(text, 'transforms: [{kind: impute, strategy: most')}: "
                       "features[1].columns: missing required key 'columns'")


def test_missing_top_level_key_points_at_the_document():
    assert error_of("team: growth\nsteps: []\n") == "pipeline.yaml:1:1: name: missing required key 'name'"


# ---------------------------------------------------------------- model or steps

STEPS_ONLY = textwrap.dedent("""\
    name: nightly-etl
    steps:
      - {name: extract, function: 'etl:extract'}
      - {name: load, function: 'etl:load', inputs: {rows: extract.result}, retries: 2}
""")

MODEL = ("model:\n  flavor: lightgbm\n  estimator: LGBMClassifier\n"
         "  params: {n_estimators: 200, learning_rate: 0.05, verbose: -1}\n")


def test_a_pipeline_of_only_steps_is_valid_and_trains_nothing():
    spec = parse_spec(STEPS_ONLY).spec
    assert not spec.trains_model
    assert spec.data is None and spec.features is None and spec.model is None
    assert [step.name for step in spec.steps] == ["extract", "load"]
    assert parse_spec(REPRESENTATIVE).spec.trains_model


def test_data_without_a_model_is_an_error_at_the_data():
    text = REPRESENTATIVE.replace(MODEL, "")
    text = text[:text.index("sweep:")] + "steps:\n  - {name: extract, function: 'etl:extract'}\n"
    assert error_of(text) == (
        f"pipeline.yaml:{at(text, 'data:')}: data: 'data' and 'features' without 'model': 'data', 'features' and "
        "'model' describe a model to train and go together; add 'model', or remove 'data' and 'features' and "
        "read the data in a step of your own")
    only_data = STEPS_ONLY + "data: {source: {type: csv, path: a.csv}, target: y}\n"
    assert error_of(only_data).startswith(f"pipeline.yaml:{at(only_data, 'data:')}: data: 'data' without 'model'")
    assert "add 'features' and 'model'" in error_of(only_data)


def test_a_model_needs_its_data_and_features():
    text = STEPS_ONLY + "model: {flavor: sklearn, estimator: LogisticRegression}\n"
    assert error_of(text) == (f"pipeline.yaml:{at(text, 'model:')}: model: 'model' needs 'data' and 'features': a "
                              "model is trained on 'data' through 'features'; add them, or remove 'model' to run "
                              "only your 'steps'")


@pytest.mark.parametrize("section", [
    "split: {holdout: 0.3}", "sweep: {metric: rmse, space: {a: {type: int, low: 1, high: 2}}}",
    "evaluation: {threshold: 0.4}", "registry: {model_name: m}", "monitoring: {}"])
def test_model_sections_without_a_model_are_errors(section):
    text = STEPS_ONLY + section + "\n"
    key = section.partition(":")[0]
    message = error_of(text)
    assert message.startswith(f"pipeline.yaml:{at(text, key + ':')}: {key}: '{key}' applies to a trained model, "
                              "and this pipeline has no 'model'"), message


def test_a_pipeline_needs_a_model_or_steps():
    assert error_of("name: empty\n") == ("pipeline.yaml:1:1: steps: a pipeline without 'model' needs at least one "
                                         "step in 'steps'; or add 'data', 'features' and 'model' to train one")


def test_step_options_of_a_steps_only_pipeline_name_its_steps():
    parse_spec(STEPS_ONLY + "step_options:\n  load: {timeout: 5m}\n")
    text = STEPS_ONLY + "step_options:\n  train: {timeout: 5m}\n"
    assert "no step named 'train' (there is no 'model' section, so no built-in steps)" in error_of(text)


# ---------------------------------------------------------------- values


def test_wrong_type_points_at_the_value():
    text = REPRESENTATIVE.replace("n_trials: 8", "n_trials: many")
    assert error_of(text) == f"pipeline.yaml:{at(text, 'many')}: sweep.n_trials: should be an integer (got 'many')"
    text = REPRESENTATIVE.replace("source: {type: csv, path: data/churn.csv}", "source: data/churn.csv")
    assert error_of(text) == (f"pipeline.yaml:{at(text, 'data/churn.csv')}: data.source: should be a mapping of keys "
                              "to values (got 'data/churn.csv')")


def test_numbers_where_text_is_expected_suggest_quotes():
    text = REPRESENTATIVE + "registry: {tags: {version: 1.10}}\n"
    assert error_of(text) == (f"pipeline.yaml:{at(text, '1.10')}: registry.tags.version: should be a string; "
                              "put the value in quotes to keep it as text (got 1.1)")


def test_bad_literal_lists_the_allowed_values():
    text = REPRESENTATIVE.replace("method: stratified", "method: randon")
    assert error_of(text) == (f"pipeline.yaml:{at(text, 'randon')}: split.method: 'randon' is not allowed; "
                              "did you mean 'random'? (allowed: random, stratified, time)")
    text = REPRESENTATIVE.replace("flavor: lightgbm", "flavor: torch")
    assert error_of(text).endswith("model.flavor: 'torch' is not allowed (allowed: sklearn, xgboost, lightgbm)")


def test_bad_discriminator_values():
    text = REPRESENTATIVE.replace("type: csv", "type: excel")
    assert error_of(text) == (f"pipeline.yaml:{at(text, 'excel')}: data.source.type: 'excel' is not allowed "
                              "(allowed: csv, parquet, sql, duckdb)")
    text = REPRESENTATIVE.replace("{kind: one_hot}", "{kind: onehot}")
    assert error_of(text) == (f"pipeline.yaml:{at(text, 'onehot')}: features[1].transforms[1].kind: 'onehot' is not "
                              "allowed; did you mean 'one_hot'? (allowed: impute, scale, one_hot, ordinal, log, clip, "
                              "bucketize, passthrough, drop)")
    text = REPRESENTATIVE.replace("{type: int, low: 8", "{type: integer, low: 8")
    assert "sweep.space.num_leaves.type: 'integer' is not allowed; did you mean 'int'?" in error_of(text)


def test_missing_discriminator():
    text = REPRESENTATIVE.replace("{kind: one_hot}", "{max_categories: 4}")
    assert error_of(text) == (f"pipeline.yaml:{at(text, '{max_categories')}: features[1].transforms[1].kind: missing "
                              "required key 'kind' (allowed: impute, scale, one_hot, ordinal, log, clip, bucketize, "
                              "passthrough, drop)")


def test_a_value_that_fits_no_union_member_gives_one_line():
    text = REPRESENTATIVE.replace("{kind: one_hot}", "{kind: bucketize, bins: many}")
    assert error_of(text) == (f"pipeline.yaml:{at(text, 'many')}: features[1].transforms[1].bins: should be an "
                              "integer or a list (got 'many')")


def test_pattern_errors_are_explained():
    text = REPRESENTATIVE.replace("name: churn", "name: 1churn")
    assert error_of(text) == ("pipeline.yaml:1:7: name: must start with a letter and contain only letters, digits, "
                              "'_' and '-' (got '1churn')")


def test_durations_and_sizes():
    text = REPRESENTATIVE.replace("timeout: 10m", "timeout: soon")
    assert error_of(text) == (f"pipeline.yaml:{at(text, 'soon')}: timeout: 'soon' is not a duration; use seconds or "
                              "a string like '90s', '15m', '2h'")
    text = REPRESENTATIVE.replace("memory: 2GiB", "memory: lots")
    assert f"pipeline.yaml:{at(text, 'lots')}: step_options.train.resources.memory: 'lots' is not a memory size" \
        in error_of(text)


# ---------------------------------------------------------------- rules across fields


def test_object_rules_point_at_the_object():
    text = REPRESENTATIVE.replace("min: 0, max: 240", "min: 300, max: 240")
    assert error_of(text) == (f"pipeline.yaml:{at(text, 'tenure_months:')}: expectations.columns.tenure_months: "
                              "min (300.0) is greater than max (240.0)")
    text = REPRESENTATIVE.replace("low: 8, high: 64", "low: 80, high: 64")
    assert error_of(text) == (f"pipeline.yaml:{at(text, 'num_leaves:')}: sweep.space.num_leaves: low (80) must be "
                              "below high (64)")


def test_time_split_needs_a_timestamp():
    text = REPRESENTATIVE.replace("method: stratified", "method: time").replace("  timestamp: signup_at\n", "")
    assert error_of(text) == (f"pipeline.yaml:{at(text, 'split:')}: split: split method 'time' needs "
                              "'data.timestamp' (the column to order rows by)")


def test_user_steps_cannot_take_builtin_names():
    text = REPRESENTATIVE + "steps:\n  - {name: train, function: 'my_steps:train'}\n"
    message = error_of(text)
    assert message == (f"pipeline.yaml:{at(text, 'train,')}: steps[0].name: 'train' is the name of a built-in step; "
                       f"choose another name (built-in steps: {', '.join(BUILTIN_STEPS)})")
    for name in BUILTIN_STEPS:
        assert "built-in step" in error_of(REPRESENTATIVE + f"steps:\n  - {{name: {name}, function: 'm:f'}}\n")


def test_user_step_names_are_unique():
    text = REPRESENTATIVE + "steps:\n  - {name: a, function: 'm:f'}\n  - {name: a, function: 'm:g'}\n"
    assert error_of(text) == f"pipeline.yaml:{at(text, 'steps:')}: steps: user step names must be unique; repeated: a"


def test_step_options_name_existing_steps():
    text = REPRESENTATIVE.replace("  train: {resources", "  trian: {resources")
    message = error_of(text)
    assert message.startswith(f"pipeline.yaml:{at(text, 'trian')}: step_options.trian: no step named 'trian'; "
                              "did you mean 'train'? (steps: ingest, validate, split, features, sweep, train,")
    no_sweep = REPRESENTATIVE[:REPRESENTATIVE.index("sweep:")] + REPRESENTATIVE[REPRESENTATIVE.index("evaluation:"):]
    message = error_of(no_sweep + "  sweep: {retries: 2}\n")
    assert "step_options.sweep: no step named 'sweep' (there is no 'sweep' section)" in message
    with_user_step = REPRESENTATIVE + "  profile: {retries: 2}\nsteps:\n  - {name: profile, function: 'm:f'}\n"
    assert parse_spec(with_user_step).spec.step_options["profile"].retries == 2


def test_sweep_metric_and_direction():
    text = REPRESENTATIVE.replace("metric: roc_auc", "metric: rocauc")
    assert error_of(text).startswith(f"pipeline.yaml:{at(text, 'rocauc')}: sweep.metric: unknown metric 'rocauc'; "
                                     "did you mean 'roc_auc'? (allowed: roc_auc,")
    minimized = parse_spec(REPRESENTATIVE.replace("metric: roc_auc", "metric: log_loss")).spec.sweep
    assert minimized.direction == "minimize"
    text = REPRESENTATIVE.replace("metric: roc_auc", "metric: rmse\n  direction: maximize")
    assert error_of(text) == (f"pipeline.yaml:{at(text, 'maximize')}: sweep.direction: 'rmse' is lower-is-better, "
                              "so the sweep must minimize it; set 'direction: minimize' or leave 'direction' out "
                              "(got 'maximize')")


def test_feature_groups_must_be_buildable():
    text = REPRESENTATIVE.replace("name: numeric", "name: num__eric")
    assert error_of(text) == (f"pipeline.yaml:{at(text, 'name: num__eric')}: features[0]: group name 'num__eric' "
                              "contains '__', which scikit-learn reserves")
    text = REPRESENTATIVE.replace("{kind: one_hot}", "{kind: drop}")
    assert "features[1]: 'drop' must be the group's only transform" in error_of(text)
    text = REPRESENTATIVE.replace("  - columns: [plan, region]", "  - name: numeric\n    columns: [plan, region]")
    assert "features: feature group names must be unique; repeated: numeric" in error_of(text)
    text = REPRESENTATIVE.replace("{kind: one_hot}]", "{kind: one_hot}]\n    function: my_features:build")
    assert "features[1]: a feature group takes either 'transforms' or 'function', not both" in error_of(text)


def test_errors_in_merged_mappings_point_where_they_were_written():
    text = REPRESENTATIVE.replace("  train: {resources: {cpu: 2, memory: 2GiB}, timeout: 30m}\n", (
        "  train: &heavy {retries: 50}\n"
        "  evaluate:\n"
        "    <<: *heavy\n"
        "    timeout: 5m\n"))
    message = error_of(text)
    assert f"pipeline.yaml:{at(text, '50')}: step_options.train.retries: should be less than or equal to 20" \
        in message
    assert f"pipeline.yaml:{at(text, '50')}: step_options.evaluate.retries:" in message


# ---------------------------------------------------------------- several problems at once


def test_several_errors_are_reported_together_in_file_order():
    text = (REPRESENTATIVE.replace("n_trials: 8", "n_trials: 0").replace("method: stratified", "method: nope")
            .replace("type: csv", "type: excel"))
    lines = error_of(text).splitlines()
    assert lines[0] == "3 problems in pipeline.yaml:"
    assert lines[1].startswith(f"  pipeline.yaml:{at(text, 'excel')}: data.source.type: 'excel'")
    assert lines[2].startswith(f"  pipeline.yaml:{at(text, 'nope')}: split.method: 'nope'")
    assert lines[3] == (f"  pipeline.yaml:{at(text, '0' + chr(10) + '  metric')}: sweep.n_trials: should be "
                        "greater than or equal to 1 (got 0)")


def test_at_most_ten_problems_are_listed():
    text = REPRESENTATIVE + "".join(f"extra_{i}: 1\n" for i in range(13))
    lines = error_of(text).splitlines()
    assert lines[0] == "13 problems in pipeline.yaml:"
    assert len(lines) == 12 and lines[-1] == "  … and 3 more"


# ---------------------------------------------------------------- files


def test_load_spec_names_the_file_as_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "pipeline.yaml").write_text(REPRESENTATIVE.replace("flavor: lightgbm", "flavor: torch"))
    with pytest.raises(SpecError) as caught:
        load_spec("specs/pipeline.yaml")
    assert caught.value.message.startswith(f"specs/pipeline.yaml:{at(REPRESENTATIVE, 'lightgbm')}: model.flavor:")


def test_missing_folder_and_binary_files(tmp_path):
    with pytest.raises(SpecError, match="nope.yaml: does not exist"):
        load_spec(tmp_path / "nope.yaml")
    with pytest.raises(SpecError, match="is a folder, not a file"):
        load_spec(tmp_path)
    binary = tmp_path / "pipeline.yaml"
    binary.write_bytes(b"name: \xff\xfe\n")
    with pytest.raises(SpecError, match="not UTF-8 text"):
        load_spec(binary)


def test_loading_a_spec_imports_no_heavy_libraries():
    code = textwrap.dedent(f"""\
        import sys
        from shipyard.spec import json_schema, parse_spec
        parse_spec({REPRESENTATIVE!r})
        json_schema()
        heavy = sorted({{m.split(".")[0] for m in sys.modules}} & {{"pandas", "numpy", "sklearn", "mlflow", "lightgbm"}})
        print(",".join(heavy))
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
