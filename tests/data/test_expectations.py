import json

import numpy as np
import pandas as pd
import pytest

from shipyard.data.expectations import validate_frame
from shipyard.errors import DataError, SpecError
from shipyard.spec.models import ExpectationsSpec


def expect(columns: dict, on_violation: str = "fail", row_count: dict | None = None) -> ExpectationsSpec:
    return ExpectationsSpec.model_validate({"on_violation": on_violation, "columns": columns,
                                           "row_count": row_count})


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": ["C001", "C002", "C003", "C004", "C005", "C006"],
        "age": [25.0, 40.0, np.nan, 61.0, 33.0, 47.0],
        "plan": ["basic", "premium", "basic", None, "standard", "basic"],
        "charges": [10.5, 20.0, 30.25, 40.0, 50.0, 60.0],
        "churned": [0, 1, 0, 1, 0, 1],
    })


def test_clean_frame_passes_with_plain_json_report(frame):
    spec = expect({"customer_id": {"dtype": "string", "nullable": False, "unique": True, "regex": r"C\d{3}"},
                   "age": {"dtype": "int", "min": 18, "max": 100},
                   "plan": {"dtype": "category", "allowed": ["basic", "standard", "premium"]},
                   "charges": {"dtype": "float", "min": 0},
                   "churned": {"dtype": "int", "allowed": [0, 1]}},
                  row_count={"min": 5, "max": 10})
    valid, report = validate_frame(frame, spec, target="churned", timestamp=None)
    assert json.loads(json.dumps(report)) == report
    assert report["passed"] is True
    assert (report["rows_in"], report["rows_out"], report["rows_dropped"]) == (6, 6, 0)
    assert report["on_violation"] == "fail"
    assert list(report["columns"]["customer_id"]) == ["dtype", "nullable", "unique", "regex"]
    assert report["columns"]["age"]["min"] == {"rule": ">= 18", "violations": 0, "examples": [], "rows": []}
    assert report["table"] == {"row_count": {"min": 5, "max": 10, "actual": 6, "passed": True}}
    assert report["columns"]["churned"]["nullable"]["violations"] == 0
    pd.testing.assert_frame_equal(valid, frame)


def test_int_column_with_nans_read_as_float_is_int(frame):
    _, report = validate_frame(frame, expect({"age": {"dtype": "int"}}), target="churned")
    assert report["columns"]["age"]["dtype"]["violations"] == 0


def test_fail_lists_every_violation_and_how_to_drop(frame):
    broken = frame.assign(age=[25.5, 40.0, np.nan, 161.0, 12.0, 47.0], customer_id=["C001", "C002", "X3", "C004",
                                                                                     "C005", "C002"])
    spec = expect({"age": {"dtype": "int", "min": 18, "max": 100},
                   "customer_id": {"unique": True, "regex": r"C\d{3}"}})
    with pytest.raises(DataError) as info:
        validate_frame(broken, spec, target="churned")
    lines = info.value.message.splitlines()
    assert lines[0] == "5 expectation check(s) failed on 6 rows:"
    assert "  age: dtype (int): 1 row(s), e.g. 25.5" in lines
    assert "  age: min (>= 18): 1 row(s), e.g. 12.0" in lines
    assert "  age: max (<= 100): 1 row(s), e.g. 161.0" in lines
    assert "  customer_id: unique (unique): 1 row(s), e.g. C002" in lines
    assert "  customer_id: regex (matches C\\d{3}): 1 row(s), e.g. X3" in lines
    assert "on_violation: drop" in info.value.hint


def test_drop_removes_offending_rows_and_counts_per_check(frame):
    broken = frame.assign(age=[25.0, 40.0, 17.0, 61.0, 33.5, 47.0], plan=["basic", "gold", "basic", None,
                                                                           "standard", "basic"])
    spec = expect({"age": {"dtype": "int", "min": 18},
                   "plan": {"nullable": False, "allowed": ["basic", "standard", "premium"]}}, on_violation="drop")
    valid, report = validate_frame(broken, spec, target="churned")
    assert valid["customer_id"].tolist() == ["C001", "C006"]
    assert valid.index.tolist() == [0, 1]
    assert (report["rows_in"], report["rows_out"], report["rows_dropped"]) == (6, 2, 4)
    assert report["passed"] is False
    age, plan = report["columns"]["age"], report["columns"]["plan"]
    assert (age["dtype"]["violations"], age["min"]["violations"]) == (1, 1)
    assert age["min"]["rows"] == [2] and age["min"]["examples"] == ["17.0"]
    assert plan["allowed"] == {"rule": "one of [basic, standard, premium]", "violations": 1,
                               "examples": ["gold"], "rows": [1]}
    assert plan["nullable"] == {"rule": "not null", "violations": 1, "examples": [], "rows": [3]}


def test_strings_where_numbers_are_expected_are_coerced(frame):
    broken = frame.assign(age=["25", "40", "unknown", "61", "", "47"])
    valid, report = validate_frame(broken, expect({"age": {"dtype": "int", "max": 50}}, on_violation="drop"),
                                   target="churned")
    assert report["columns"]["age"]["dtype"]["examples"] == ["unknown", ""]
    assert report["columns"]["age"]["max"]["examples"] == ["61"]
    assert pd.api.types.is_numeric_dtype(valid["age"])
    assert valid["age"].tolist()[:2] == [25, 40]
    assert report["rows_out"] == 3


def test_min_on_text_column_coerces_to_numbers(frame):
    broken = frame.assign(charges=["1", "2", "n/a", "4", "5", "-6"])
    valid, report = validate_frame(broken, expect({"charges": {"min": 0}}, on_violation="drop"), target="churned")
    assert report["columns"]["charges"]["dtype"] == {"rule": "number (implied by min/max)", "violations": 1,
                                                     "examples": ["n/a"], "rows": [2]}
    assert report["columns"]["charges"]["min"]["violations"] == 1
    assert valid["charges"].tolist() == [1, 2, 4, 5]


def test_min_on_datetime_column_is_a_spec_error(frame):
    with pytest.raises(SpecError, match="min/max compare numbers"):
        validate_frame(frame.assign(at=pd.Timestamp("2024-01-01")), expect({"at": {"min": 0}}), target="churned")


def test_numbers_where_strings_are_expected(frame):
    with pytest.raises(DataError, match=r"charges: dtype \(string\): 6 row\(s\)"):
        validate_frame(frame, expect({"charges": {"dtype": "string"}}), target="churned")


def test_unique_keeps_first_among_otherwise_valid_rows():
    frame = pd.DataFrame({"k": ["a", "a", "b", "b", "c", None, None], "v": [-1, 1, 1, 1, 1, 1, 1],
                          "y": [1, 0, 1, 0, 1, 0, 1]})
    spec = expect({"k": {"unique": True}, "v": {"min": 0}}, on_violation="drop")
    valid, report = validate_frame(frame, spec, target="y")
    assert report["columns"]["k"]["unique"]["violations"] == 1
    assert report["columns"]["k"]["unique"]["rows"] == [3]
    assert valid["k"].tolist()[:3] == ["a", "b", "c"]
    assert len(valid) == 5


def test_regex_is_a_full_match_and_works_on_numbers():
    frame = pd.DataFrame({"code": ["C12", "C12x", "xC12", None], "zip": [1234.0, 99.0, np.nan, 12345.0],
                          "y": [1, 0, 1, 0]})
    _, report = validate_frame(frame, expect({"code": {"regex": r"C\d+"}, "zip": {"regex": r"\d{4,5}"}},
                                             on_violation="drop"), target="y")
    assert report["columns"]["code"]["regex"]["examples"] == ["C12x", "xC12"]
    assert report["columns"]["zip"]["regex"]["examples"] == ["99.0"]


def test_target_nulls_are_always_counted(frame):
    broken = frame.assign(churned=[0, 1, None, 1, None, 1])
    valid, report = validate_frame(broken, expect({}, on_violation="drop"), target="churned")
    assert report["columns"]["churned"]["nullable"]["violations"] == 2
    assert len(valid) == 4
    with pytest.raises(DataError, match=r"churned: nullable \(not null\): 2 row\(s\), e.g. row 2, row 4"):
        validate_frame(broken, expect({}), target="churned")


def test_timestamp_must_parse_and_be_present(frame):
    broken = frame.assign(at=["2024-01-01", "2024-01-02", "someday", None, "2024-02-01", "2024-03-01"])
    valid, report = validate_frame(broken, expect({}, on_violation="drop"), target="churned", timestamp="at")
    assert report["columns"]["at"]["dtype"]["examples"] == ["someday"]
    assert report["columns"]["at"]["nullable"]["violations"] == 1
    assert pd.api.types.is_datetime64_any_dtype(valid["at"])
    assert valid["at"].dt.day.tolist() == [1, 2, 1, 1]


def test_missing_expectation_column_fails_even_under_drop(frame):
    with pytest.raises(DataError) as info:
        validate_frame(frame, expect({"charge": {"min": 0}}, on_violation="drop"), target="churned")
    assert "expectations.columns names column 'charge' (did you mean 'charges'?)" in info.value.message


def test_row_count_after_drops_is_never_droppable(frame):
    spec = expect({"plan": {"nullable": False}}, on_violation="drop", row_count={"min": 6})
    with pytest.raises(DataError, match="after dropping 1 of 6 rows that broke expectations, 5 remain; "
                                        "expectations.row_count requires at least 6"):
        validate_frame(frame, spec, target="churned")
    with pytest.raises(DataError, match="the data has 6 rows; expectations.row_count requires at most 4"):
        validate_frame(frame, expect({}, row_count={"max": 4}), target="churned")


def test_dropping_every_row_is_an_error(frame):
    with pytest.raises(DataError, match="every one of the 6 rows breaks an expectation"):
        validate_frame(frame, expect({"customer_id": {"dtype": "datetime"}}, on_violation="drop"), target="churned")


def test_bool_datetime_and_category_dtypes():
    frame = pd.DataFrame({"flag": ["yes", "No", "TRUE", "0", "maybe"],
                          "when": ["2024-01-01", "2024-01-02 10:00", "2024-01-03", "2024-01-04", "x"],
                          "bucket": [1.0, 2.0, 2.5, 3.0, 1.0],
                          "y": [1, 0, 1, 0, 1]})
    spec = expect({"flag": {"dtype": "bool"}, "when": {"dtype": "datetime"}, "bucket": {"dtype": "category"}},
                  on_violation="drop")
    valid, report = validate_frame(frame, spec, target="y")
    assert report["columns"]["flag"]["dtype"]["examples"] == ["maybe"]
    assert report["columns"]["when"]["dtype"]["examples"] == ["x"]
    assert report["columns"]["bucket"]["dtype"]["examples"] == ["2.5"]
    assert valid["flag"].tolist() == [True, False, False]
    assert valid["when"].dt.day.tolist() == [1, 2, 4]


def test_allowed_numbers_match_numeric_text_and_floats():
    frame = pd.DataFrame({"a": [0.0, 1.0, 2.0], "b": ["0", "1", "1"], "y": [0, 1, 0]})
    _, report = validate_frame(frame, expect({"a": {"allowed": [0, 1]}, "b": {"allowed": [0, 1]}},
                                             on_violation="drop"), target="y")
    assert report["columns"]["a"]["allowed"]["examples"] == ["2.0"]
    assert report["columns"]["b"]["allowed"]["violations"] == 0
