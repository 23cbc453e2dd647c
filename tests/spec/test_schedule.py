"""The ``schedule:`` and ``catchup:`` keys: cron or preset, checked field by field."""

import pytest

from shipyard.errors import SpecError
from shipyard.spec import json_schema, parse_spec

jsonschema = pytest.importorskip("jsonschema")

STEPS = "name: etl\nsteps: [{name: extract, function: 'etl:extract'}]\n"


def schedule_of(value: str):
    return parse_spec(STEPS + f"schedule: '{value}'\n").spec


@pytest.mark.parametrize("value", ["@weekly", "@daily", "@once", "0 3 * * 1", "*/15 2-4 1,15 * *",
                                   "0 6 * jan-mar mon-fri", "30 23 31 12 7"])
def test_cron_expressions_and_presets_are_accepted(value):
    assert schedule_of(value).schedule == value


def test_no_schedule_and_no_catchup_by_default():
    spec = parse_spec(STEPS).spec
    assert spec.schedule is None and spec.catchup is False
    assert parse_spec(STEPS + "schedule: '@weekly'\ncatchup: true\n").spec.catchup is True


@pytest.mark.parametrize(("value", "says"), [
    ("@weakly", "is not a schedule preset"),
    ("0 3 * *", "has 4 fields"),
    ("0 25 * * *", "25 is out of range for the hour (0-23)"),
    ("61 * * * *", "out of range for the minute"),
    ("*/0 * * * *", "must be at least 1"),
    ("0 5-2 * * *", "runs backwards"),
    ("0 3 * * fun", "'fun' is not a day of week"),
    ("0 3 ? * 1", "'?' is not a valid day of month"),
])
def test_bad_schedules_say_what_is_wrong(value, says):
    with pytest.raises(SpecError) as caught:
        schedule_of(value)
    assert says in str(caught.value)
    assert ":3:" in str(caught.value)  # the line of the key in the file


def test_schema_declares_both_keys():
    schema = json_schema()
    validator = jsonschema.Draft202012Validator(schema)
    etl = {"name": "etl", "steps": [{"name": "extract", "function": "etl:extract"}]}
    assert schema["properties"]["catchup"]["type"] == "boolean"
    assert not list(validator.iter_errors({**etl, "schedule": "0 3 * * 1", "catchup": True}))
    assert list(validator.iter_errors({**etl, "schedule": "0 3 * *"}))
    assert list(validator.iter_errors({**etl, "catchup": "yes"}))
