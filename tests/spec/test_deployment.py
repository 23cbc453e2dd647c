import re

import pytest
from pydantic import ValidationError

from shipyard.spec.deployment import DeploymentSpec


def test_defaults_are_a_gradual_canary():
    plan = DeploymentSpec()
    assert plan.canary.steps == [5, 25, 50, 100] and plan.shadow is None and plan.slo.max_error_rate == 0.01


@pytest.mark.parametrize("section, needle", [
    ({"canary": {"steps": [50, 25, 100]}}, "must increase"),
    ({"canary": {"steps": [5, 50]}}, "last canary step must be 100"),
    ({"canary": {"steps": [0, 100]}}, "(0, 100]"),
    ({"routing_key": "cookie:user"}, "not a routing key"),
    ({"slo": {"min_requests": 500}, "canary": {"min_requests": 100}}, "would advance before its SLOs are judged"),
    ({"slo": {"max_error_rate": 2}}, "less than or equal to 1"),
    ({"strategy": "canary"}, "Extra inputs are not permitted"),
    ({"shadow": {"duration_s": "a day"}}, "'a day' is not a duration"),
    ({"shadow": {"duration_s": 0}}, "a duration must be positive"),
    ({"slo": {"window": "soon"}}, "'soon' is not a duration"),
])
def test_a_bad_plan_says_what_is_wrong(section, needle):
    with pytest.raises(ValidationError) as caught:
        DeploymentSpec.model_validate(section)
    assert needle in str(caught.value)


def test_the_stable_watch_window_defaults_to_five_minutes_and_takes_a_duration():
    assert DeploymentSpec().slo.window == 300
    assert DeploymentSpec.model_validate({"slo": {"window": "2m"}}).slo.window == 120


def test_a_shadow_phase_takes_a_duration():
    assert DeploymentSpec.model_validate({"shadow": {"duration_s": "24h"}}).shadow.duration_s == 86400
    assert DeploymentSpec.model_validate({"shadow": {"duration_s": 90}}).shadow.duration_s == 90


def test_monitoring_levels_must_be_ordered():
    from shipyard.spec.monitoring import MonitoringSpec

    with pytest.raises(ValidationError, match="must not be below warning"):
        MonitoringSpec.model_validate({"psi": {"warning": 0.3, "critical": 0.1}})
    with pytest.raises(ValidationError, match="not a duration"):
        MonitoringSpec.model_validate({"window": "soon"})


def test_the_json_schema_declares_the_routing_key_pattern_the_validator_enforces():
    from shipyard.spec.deployment import ROUTING_KEY, DeploymentSpec

    declared = DeploymentSpec.model_json_schema()["properties"]["routing_key"]
    assert declared["pattern"] == ROUTING_KEY.pattern
    assert not re.search(declared["pattern"], "") and re.search(declared["pattern"], "header:x-user-id")
