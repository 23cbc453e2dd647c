"""The JSON Schema accepts what the loader accepts, so editors flag the same mistakes."""

import json
import textwrap
from pathlib import Path

import pytest
from test_loader import EVERY_SECTION, REPRESENTATIVE

from shipyard.errors import SpecError
from shipyard.spec import json_schema, parse_spec
from shipyard.spec._yaml import read_yaml

jsonschema = pytest.importorskip("jsonschema")

SPEC = textwrap.dedent("""\
    name: churn
    data:
      source: {type: csv, path: data/churn.csv}
      target: churned
    features:
      - columns: [tenure_months]
        transforms: [{kind: impute, strategy: median}, {kind: scale}]
    model: {flavor: lightgbm, estimator: LGBMClassifier}
    sweep:
      metric: roc_auc
      timeout: 5m
      space:
        num_leaves: {type: int, low: 8, high: 64}
    resources: {cpu: 2, memory: 2GiB}
    timeout: 10m
    step_options:
      train: {resources: {memory: 512MiB}, timeout: 30m}
""")


def document(text: str) -> dict:
    """The data as editors see it: YAML 1.2, where an unquoted date is a string."""
    return read_yaml(text, "pipeline.yaml")[0]


def problems(text: str) -> list[str]:
    validator = jsonschema.Draft202012Validator(json_schema())
    return [error.message for error in validator.iter_errors(document(text))]


def test_schema_header_and_top_level():
    schema = json_schema()
    assert list(schema)[:2] == ["$schema", "title"]
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "shipyard pipeline"
    assert schema["required"] == ["name"]
    assert schema["additionalProperties"] is False
    assert json.loads(json.dumps(schema)) == schema


def test_data_features_and_model_are_optional_together():
    steps_only = "name: etl\nsteps:\n  - {name: extract, function: 'etl:extract'}\n"
    parse_spec(steps_only)
    assert problems(steps_only) == []
    for text in (steps_only + "data: {source: {type: csv, path: a.csv}, target: y}\n",
                 steps_only + "split: {holdout: 0.3}\n", "name: nothing\n", "name: nothing\nsteps: []\n",
                 SPEC.replace("model: {flavor: lightgbm, estimator: LGBMClassifier}\n", "")):
        with pytest.raises(SpecError):
            parse_spec(text)
        assert problems(text), text


def test_schema_is_a_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(json_schema())


def test_every_object_forbids_unknown_keys():
    for name, definition in json_schema()["$defs"].items():
        if definition.get("type") == "object":
            assert definition.get("additionalProperties") is False, name


def test_durations_and_sizes_are_accepted_as_strings():
    parse_spec(SPEC)
    assert problems(SPEC) == []


def test_the_loader_test_specs_and_the_examples_pass():
    assert problems(REPRESENTATIVE) == [] and problems(EVERY_SECTION) == []
    examples = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*/pipeline.yaml"))
    assert examples
    for path in examples:
        assert problems(path.read_text()) == [], path


@pytest.mark.parametrize(("change", "fragment"), [
    (("flavor: lightgbm", "flavor: torch"), "'torch' is not one of ['sklearn', 'xgboost', 'lightgbm']"),
    (("estimator: LGBMClassifier", "estimater: LGBMClassifier"), "('estimater' was unexpected)"),
    (("type: csv", "type: excel"), "{'type': 'excel', 'path': 'data/churn.csv'} is not valid under any"),
    (("timeout: 10m", "timeout: soon"), "'soon' is not valid under any"),
    (("memory: 2GiB", "memory: lots"), "'lots' is not valid under any"),
    (("{kind: scale}", "{kind: onehot}"), "{'kind': 'onehot'} is not valid under any"),
    (("cpu: 2", "cpu: 0"), "0 is less than or equal to the minimum of 0"),
])
def test_schema_rejects_what_the_loader_rejects(change, fragment):
    text = SPEC.replace(*change)
    assert text != SPEC
    with pytest.raises(SpecError):
        parse_spec(text)
    assert any(fragment in message for message in problems(text)), problems(text)


def test_literal_values_are_enumerated():
    defs = json_schema()["$defs"]
    assert defs["SplitSpec"]["properties"]["method"]["enum"] == ["random", "stratified", "time"]
    kinds = {d["properties"]["kind"]["const"] for d in defs.values() if "kind" in d.get("properties", {})}
    assert kinds == {"impute", "scale", "one_hot", "ordinal", "log", "clip", "bucketize", "passthrough", "drop"}
