"""The promotion section's metric gates: directions follow the metric registry; contradictions are spec errors."""

import textwrap

import pytest

from shipyard.errors import SpecError
from shipyard.spec import parse_spec

SPEC = textwrap.dedent("""\
    name: prices
    data:
      source: {type: csv, path: prices.csv}
      target: price
    features:
      - columns: [area, rooms]
        transforms: [{kind: scale}]
    model: {flavor: sklearn, estimator: Ridge}
    promotion:
      gates:
        thresholds: ["rmse <= 60", "r2 >= 0.5"]
        champion: {metric: rmse, min_delta: 0.5}
        slices: {metric: mae, max_regression: 1.0}
""")


def error_of(text: str) -> str:
    with pytest.raises(SpecError) as caught:
        parse_spec(text, source="pipeline.yaml")
    return caught.value.message


def at(text: str, needle: str) -> str:
    index = text.index(needle)
    return f"{text.count(chr(10), 0, index) + 1}:{index - (text.rfind(chr(10), 0, index) + 1) + 1}"


def test_gate_directions_follow_the_metric_when_omitted():
    gates = parse_spec(SPEC).spec.promotion.gates
    assert gates.champion.direction == "minimize" and gates.slices.direction == "minimize"
    higher = parse_spec(SPEC.replace("metric: rmse,", "metric: r2,").replace("metric: mae,", "metric: r2,"))
    assert higher.spec.promotion.gates.champion.direction == "maximize"
    assert higher.spec.promotion.gates.slices.direction == "maximize"
    agreeing = parse_spec(SPEC.replace("metric: rmse,", "metric: rmse, direction: minimize,"))
    assert agreeing.spec.promotion.gates.champion.direction == "minimize"


def test_a_champion_direction_contradicting_the_metric_points_at_it():
    text = SPEC.replace("metric: rmse,", "metric: rmse, direction: maximize,")
    assert error_of(text) == (
        f"pipeline.yaml:{at(text, 'maximize')}: promotion.gates.champion.direction: 'rmse' is lower-is-better, "
        "so the champion gate must minimize it; set 'direction: minimize' or leave 'direction' out (got 'maximize')")


def test_a_slice_direction_contradicting_the_metric_points_at_it():
    text = SPEC.replace("metric: mae,", "metric: roc_auc, direction: minimize,")
    assert error_of(text) == (
        f"pipeline.yaml:{at(text, 'minimize')}: promotion.gates.slices.direction: 'roc_auc' is higher-is-better, "
        "so the slice gate must maximize it; set 'direction: maximize' or leave 'direction' out (got 'minimize')")


def test_an_unknown_gate_metric_is_a_spec_error():
    text = SPEC.replace("metric: rmse,", "metric: rsme,")
    assert error_of(text).startswith(f"pipeline.yaml:{at(text, 'rsme')}: promotion.gates.champion.metric: "
                                     "unknown metric 'rsme'; did you mean 'rmse'? (allowed: roc_auc,")


def test_a_threshold_on_the_better_side_points_at_the_rule():
    rule = '"rmse >= 60"'
    text = SPEC.replace('"rmse <= 60"', rule)
    assert error_of(text) == (
        f"pipeline.yaml:{at(text, rule)}: promotion.gates.thresholds[0]: 'rmse >= 60' sets a floor on rmse, "
        "but rmse is lower-is-better, so the rule would pass worse models and fail better ones; write 'rmse <= 60'")


def with_performance(budget: str) -> str:
    return SPEC + f"    performance: {budget}\n"


def test_latency_measurement_settings_have_documented_defaults():
    budget = parse_spec(with_performance("{p99_ms_batch1: 50}")).spec.promotion.gates.performance
    assert (budget.clock, budget.tolerance, budget.rounds, budget.repeats, budget.max_seconds) == \
        ("service", 0.1, 10, 200, 3.0)
    chosen = parse_spec(with_performance("{p99_ms_batch1: 50, clock: cpu, tolerance: 0.25, rounds: 5, "
                                         "max_seconds: 1.5}")).spec.promotion.gates.performance
    assert (chosen.clock, chosen.tolerance, chosen.rounds, chosen.max_seconds) == ("cpu", 0.25, 5, 1.5)


@pytest.mark.parametrize("budget, points_at, expected", [
    ("{p99_ms_batch1: 50, clock: gpu}", "gpu", "clock: 'gpu' is not allowed; did you mean 'cpu'?"),
    ("{p99_ms_batch1: 50, tolerance: 2}", "2}", "tolerance: should be less than or equal to 1 (got 2)"),
    ("{p99_ms_batch1: 50, max_seconds: 600}", "600", "max_seconds: should be less than or equal to 60"),
    ("{p99_ms_batch1: 50, max_seconds: 0}", "0}", "max_seconds: should be greater than 0"),
    ("{p99_ms_batch1: 50, rounds: 1}", "1}", "rounds: should be greater than or equal to 2"),
    ("{rounds: 50, repeats: 20}", "performance", "rounds (50) cannot exceed repeats (20): each round needs at least"),
])
def test_bad_latency_measurement_settings_are_spec_errors(budget, points_at, expected):
    text = with_performance(budget)
    message = error_of(text)
    index = text.rindex(points_at)
    line, column = text.count("\n", 0, index) + 1, index - text.rfind("\n", 0, index)
    assert message.startswith(f"pipeline.yaml:{line}:{column}: promotion.gates.performance")
    assert expected in message


def test_the_json_schema_bounds_the_latency_measurement():
    from shipyard.spec.schema import json_schema

    schema = json_schema()
    budget = schema["$defs"]["PerformanceBudget"]["properties"]
    assert budget["clock"]["enum"] == ["service", "wall", "cpu"] and budget["clock"]["default"] == "service"
    assert budget["max_seconds"]["exclusiveMinimum"] == 0 and budget["max_seconds"]["maximum"] == 60
    assert budget["tolerance"]["maximum"] == 1 and "confidence interval" in budget["tolerance"]["description"]


def with_drift(drift: str) -> str:
    return SPEC + f"  drift: {drift}\n"


def test_the_drift_gate_has_documented_defaults():
    assert parse_spec(SPEC).spec.promotion.drift is None
    gate = parse_spec(with_drift("{}")).spec.promotion.drift
    assert (gate.threshold, gate.window, gate.min_rows) == (0.2, 7 * 86400, 100)
    chosen = parse_spec(with_drift("{threshold: 0.3, window: 3d, min_rows: 500}")).spec.promotion.drift
    assert (chosen.threshold, chosen.window, chosen.min_rows) == (0.3, 3 * 86400, 500)


@pytest.mark.parametrize("drift, points_at, expected", [
    ("{threshold: 1.5}", "1.5", "promotion.drift.threshold: should be less than or equal to 1 (got 1.5)"),
    ("{window: soon}", "soon", "promotion.drift.window: 'soon' is not a duration"),
    ("{min_rows: 0}", "0}", "promotion.drift.min_rows: should be greater than or equal to 1"),
    ("{treshold: 0.1}", "treshold", "promotion.drift.treshold: unknown key; did you mean 'threshold'?"),
])
def test_a_bad_drift_gate_points_at_the_key(drift, points_at, expected):
    text = with_drift(drift)
    message = error_of(text)
    index = text.rindex(points_at)
    line, column = text.count("\n", 0, index) + 1, index - text.rfind("\n", 0, index)
    assert message.startswith(f"pipeline.yaml:{line}:{column}: "), message
    assert expected in message, message


def test_the_json_schema_declares_the_drift_gate():
    import jsonschema
    import yaml

    from shipyard.spec.schema import json_schema

    schema = json_schema()
    gate = schema["$defs"]["DriftGate"]["properties"]
    assert gate["threshold"]["default"] == 0.2 and gate["threshold"]["maximum"] == 1
    assert gate["window"]["default"] == 7 * 86400 and gate["min_rows"]["minimum"] == 1
    validator = jsonschema.Draft202012Validator(schema)
    assert list(validator.iter_errors(yaml.safe_load(with_drift("{threshold: 0.3, window: 3d}")))) == []
    assert list(validator.iter_errors(yaml.safe_load(with_drift("{threshold: 1.5}"))))
