"""Findings beyond the YAML, rendered at their file:line:col in the loader's one-line-per-problem form."""

import textwrap

from shipyard.errors import DataError, SpecError, UserCodeError
from shipyard.spec.findings import Finding, findings_error

TEXT = textwrap.dedent("""\
    data:
      target: churned
    model:
      params: {C: 1.0, max_iters: 200}
""")


def test_one_finding_is_one_line_with_its_own_hint_and_kind():
    error = findings_error([Finding(path=("data", "target"), message="no such column", hint="columns: a, b",
                                    kind=DataError)], text=TEXT, source="p.yaml")
    assert isinstance(error, DataError)
    assert (error.message, error.hint) == ("p.yaml:2:11: data.target: no such column", "columns: a, b")


def test_key_or_value_position():
    at_value = Finding(path=("model", "params", "max_iters"), message="unknown")
    at_key = Finding(path=("model", "params", "max_iters"), message="unknown", at_key=True)
    assert findings_error([at_value], text=TEXT, source="p.yaml").message.startswith("p.yaml:4:31:")
    assert findings_error([at_key], text=TEXT, source="p.yaml").message.startswith("p.yaml:4:20:")
    mapping = Finding(path=("model", "params"), message="bad")
    assert findings_error([mapping], text=TEXT, source="p.yaml").message.startswith("p.yaml:4:3:")


def test_several_findings_sorted_by_position_with_shared_hints_once():
    findings = [Finding(path=("model", "params", "max_iters"), message="three", hint="same", at_key=True,
                        kind=UserCodeError),
                Finding(path=("data", "target"), message="one", hint="same", kind=DataError),
                Finding(path=("model",), message="two", hint="other", kind=DataError)]
    error = findings_error(findings, text=TEXT, source="p.yaml")
    assert isinstance(error, SpecError)
    assert error.message.splitlines() == [
        "3 problems in p.yaml:",
        "  p.yaml:2:11: data.target: one",
        "      hint: same",
        "  p.yaml:3:1: model: two",
        "      hint: other",
        "  p.yaml:4:20: model.params.max_iters: three",
    ]
    both_data = findings_error(findings[1:], text=TEXT, source="p.yaml")
    assert isinstance(both_data, DataError) and both_data.message.startswith("2 problems in p.yaml:")
