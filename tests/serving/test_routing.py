"""Picking an arm: weighted canary coin, sticky A/B buckets, shadow mirroring, SLO judgement."""

import random

import pytest

from shipyard.serving.loaded import LoadedVersion
from shipyard.serving.rollout import Window, breaches, label_shift, phase_done
from shipyard.serving.routing import Route, sticky_bucket
from shipyard.spec.deployment import DeploymentSpec


def _version(number: str) -> LoadedVersion:
    return LoadedVersion(model="churn", version=number, estimator=None, signature={"user": "string"})


def test_sticky_buckets_are_deterministic_and_uniform():
    assert sticky_bucket("churn", "u1") == sticky_bucket("churn", "u1")
    assert sticky_bucket("churn", "u1") != sticky_bucket("other", "u1")
    points = [sticky_bucket("churn", f"user-{i}") for i in range(20000)]
    assert all(0 <= p < 1 for p in points)
    assert sum(p < 0.3 for p in points) / len(points) == pytest.approx(0.3, abs=0.02)


def test_a_b_keeps_each_user_on_one_arm():
    route = Route(model="churn", stable=_version("1"), ab=_version("2"), ab_weight=0.5, routing_key="header:x-user")
    for user in (f"user-{i}" for i in range(200)):
        arms = {route.pick(route.key_of({"x-user": user}, {}, {}))[0] for _ in range(5)}
        assert len(arms) == 1
    share = sum(route.pick(f"user-{i}")[0] == "ab" for i in range(10000)) / 10000
    assert share == pytest.approx(0.5, abs=0.03)


def test_routing_keys_come_from_headers_parameters_or_the_first_row():
    route = Route(model="churn", stable=_version("1"), routing_key="field:user")
    assert route.key_of({}, {"user": ["u7", "u8"]}, {}) == "u7"
    assert route.key_of({}, {"user": ["u7"]}, {"user": "u9"}) == "u9"
    assert route.key_of({}, {}, {}) is None
    assert Route(model="churn", stable=_version("1")).key_of({"x": "1"}, {}, {}) is None


def test_canary_gets_its_share_and_a_b_shares_add_up():
    random.seed(7)
    route = Route(model="churn", stable=_version("1"), canary=_version("2"), canary_weight=0.2,
                  ab=_version("3"), ab_weight=0.3, routing_key="header:u")
    picks = [route.pick(f"user-{i}")[0] for i in range(20000)]
    assert picks.count("canary") / len(picks) == pytest.approx(0.2, abs=0.02)
    assert picks.count("ab") / len(picks) == pytest.approx(0.3, abs=0.02)
    without_key = [route.pick(None)[0] for _ in range(5000)]
    assert "ab" not in without_key


def test_shadow_mirrors_its_share():
    random.seed(3)
    assert Route(model="churn", stable=_version("1")).mirror() is None
    always = Route(model="churn", stable=_version("1"), shadow=_version("2"), shadow_weight=1.0)
    assert all(always.mirror().version == "2" for _ in range(100))
    some = Route(model="churn", stable=_version("1"), shadow=_version("2"), shadow_weight=0.25)
    assert sum(some.mirror() is not None for _ in range(8000)) / 8000 == pytest.approx(0.25, abs=0.03)


PLAN = DeploymentSpec.model_validate({"slo": {"max_error_rate": 0.05, "max_p99_latency_ms": 20,
                                              "max_prediction_shift": 0.2, "min_requests": 50},
                                      "canary": {"min_dwell_s": 10, "min_requests": 100}})


@pytest.mark.parametrize("trial, stable, expected", [
    (Window(49, 49, 1.0, {}), None, []),  # too few requests to judge
    (Window(100, 2, 5.0, {"a": 98}), Window(100, 0, 5.0, {"a": 100}), []),
    (Window(100, 6, 5.0, {"a": 94}), None, ["error rate 6.00% > 5.00%"]),
    (Window(100, 0, 25.0, {"a": 100}), None, ["p99 latency 25.0 ms > 20 ms"]),
    (Window(100, 0, 5.0, {"a": 50, "b": 50}), Window(100, 0, 5.0, {"a": 100}), ["prediction shift 0.500 > 0.2"]),
])
def test_breaches(trial, stable, expected):
    assert breaches(PLAN, trial, stable) == expected


def test_label_shift_is_total_variation():
    assert label_shift({"a": 10}, {"a": 3}) == 0
    assert label_shift({"a": 10}, {"b": 10}) == 1
    assert label_shift({"a": 5, "b": 5}, {"a": 10}) == pytest.approx(0.5)
    assert label_shift({}, {"a": 1}) == 0


def test_a_phase_is_done_after_its_dwell_and_request_count():
    rollout = {"phase": "canary", "phase_started_at": 100.0}
    assert not phase_done(PLAN, rollout, Window(500, 0, 1.0, {}), now=105.0)
    assert not phase_done(PLAN, rollout, Window(99, 0, 1.0, {}), now=200.0)
    assert phase_done(PLAN, rollout, Window(100, 0, 1.0, {}), now=110.0)
