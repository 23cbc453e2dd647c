"""Gateways' windows add up: counts sum, and the fleet's p99 read off the summed latency histogram."""

import numpy as np

from shipyard.serving.arm_stats import ArmStats
from shipyard.serving.fleet_window import FleetWindow, latency_counts, merged


def test_the_fleet_p99_of_summed_histograms_is_within_one_bucket_of_the_exact_one():
    rng = np.random.default_rng(0)
    fast, slow = rng.lognormal(np.log(0.004), 0.3, 5000), rng.lognormal(np.log(0.2), 0.2, 300)
    windows = [FleetWindow(requests=len(x), latencies=latency_counts(x)) for x in (fast, slow)]
    exact = np.percentile(np.concatenate([fast, slow]), 99) * 1000
    fleet = merged(windows)
    assert fleet.requests == 5300
    assert exact <= fleet.p99_ms() <= exact * 1.1
    # neither gateway's own p99 says what the fleet's is
    assert windows[0].p99_ms() < exact / 10


def test_counts_and_labels_sum_and_survive_the_store_round_trip():
    a = FleetWindow(requests=10, errors=2, latencies={3: 8}, labels={"0": 5, "1": 3})
    b = FleetWindow(requests=5, errors=5, latencies={}, labels={})
    fleet = FleetWindow.from_json(merged([a, b]).to_json())
    assert (fleet.requests, fleet.errors, fleet.labels) == (15, 7, {"0": 5, "1": 3})
    assert fleet.as_window().error_rate == 7 / 15
    assert FleetWindow().p99_ms() is None and merged([]).requests == 0


def test_extreme_latencies_fall_in_the_first_and_last_buckets():
    counts = latency_counts(np.array([0.0, 1e6]))
    assert sorted(counts) == [0, max(counts)] and sum(counts.values()) == 2


def test_a_gateways_fleet_window_holds_what_its_arm_stats_window_holds():
    stats = ArmStats(capacity=64)
    for i in range(10):
        stats.record("m", "1", "stable", 0.01 * (i + 1), ok=i % 5 != 0, label="yes" if i % 2 else "no")
    stats.record("m", "2", "stable", 0.5, ok=True)
    own, fleet = stats.window("m", "1", "stable", 0), stats.fleet_window("m", "1", "stable", 0)
    assert (fleet.requests, fleet.errors, fleet.labels) == (own.requests, own.errors, own.labels) == \
        (10, 2, {"yes": 5, "no": 5})
    assert own.p99_ms <= fleet.p99_ms() <= own.p99_ms * 1.1
    assert stats.fleet_window("m", "3", "stable", 0) == FleetWindow()


def test_input_counts_sum_per_feature_and_slot_and_survive_the_store_round_trip():
    a = FleetWindow(requests=3, inputs={"x1": [1, 2, 0], "color": [3, 0]})
    b = FleetWindow(requests=4, inputs={"x1": [0, 1, 3]})
    fleet = FleetWindow.from_json(merged([a, b]).to_json())
    assert fleet.inputs == {"x1": [1, 3, 3], "color": [3, 0]}
    assert FleetWindow.from_json({"requests": 1}).inputs == {}
