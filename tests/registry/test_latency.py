"""Latency measured in interleaved rounds, on three clocks, within a time bound."""

import sys
import time

import numpy as np
import pytest

from shipyard.registry import latency


def test_quantile_pools_every_call_and_resamples_whole_rounds():
    rounds = [np.linspace(1.0, 2.0, 20) + i * 0.01 for i in range(10)]
    estimate = latency.estimate_quantile(rounds, 0.5)
    assert estimate.value == pytest.approx(np.quantile(np.concatenate(rounds), 0.5))
    assert estimate.low <= estimate.value <= estimate.high and estimate.high - estimate.low < 0.1
    assert 1.5 < estimate.round_low <= estimate.round_high < 1.6
    assert latency.estimate_quantile(rounds, 0.5) == estimate  # seeded: the same calls give the same verdict


def test_one_spoiled_round_widens_the_interval_without_moving_the_median():
    steady = [np.full(20, 1.0) + np.linspace(0, 0.1, 20) for _ in range(9)]
    estimate = latency.estimate_quantile([*steady, np.full(20, 100.0)], 0.5)
    assert estimate.value < 1.1 and estimate.low < 1.1


def test_a_single_round_has_no_spread():
    estimate = latency.estimate_quantile([np.array([1.0, 2.0, 3.0])], 0.5)
    assert estimate.low == estimate.value == estimate.high == 2.0


def test_workloads_are_interleaved_in_every_round_and_sleep_counts_as_latency():
    order = []
    workloads = [latency.Workload(name="quick", call=lambda: order.append("quick"), calls=40),
                 latency.Workload(name="sleepy", call=lambda: (order.append("sleepy"), time.sleep(0.004)), calls=10)]
    measured = latency.measure(workloads, rounds=5, max_seconds=2)
    quick, sleepy = measured.samples["quick"], measured.samples["sleepy"]
    assert quick.round_count == sleepy.round_count == 5
    assert [len(r) for r in quick.rounds["wall"]] == [8] * 5 and [len(r) for r in sleepy.rounds["wall"]] == [2] * 5
    assert order[:6] == ["quick"] * 3 + ["sleepy"] * 3  # warm-up
    assert order[6:10] == ["quick", "sleepy", "quick", "sleepy"]  # then call by call, alternating
    assert measured.estimate("sleepy", "service", 0.5).value >= 4
    assert measured.estimate("sleepy", "cpu", 0.5).value < 2
    assert measured.service_clock == sys.platform.startswith("linux")


def test_measuring_stops_when_its_time_is_up():
    workloads = [latency.Workload(name="slow", call=lambda: time.sleep(0.05), calls=1000)]
    began = time.perf_counter()
    measured = latency.measure(workloads, rounds=10, max_seconds=0.5)
    assert time.perf_counter() - began < 0.5 + 0.2
    assert 1 <= measured.samples["slow"].calls < 10 and measured.seconds < 0.7
    assert measured.samples["slow"].round_count >= 2  # fewer calls per round, not fewer rounds


def test_a_load_burst_that_hits_both_workloads_of_a_round_leaves_their_ratio_alone():
    calm = [np.linspace(1.0, 1.2, 20) for _ in range(8)]
    burst = [np.linspace(10.0, 12.0, 20) for _ in range(2)]
    ours, theirs = [r * 1.5 for r in calm + burst], calm + burst
    ratio = latency.estimate_ratio(ours, theirs, 0.99)
    assert ratio.value == pytest.approx(1.5) and ratio.low == pytest.approx(1.5) and ratio.high == pytest.approx(1.5)
    alone = latency.estimate_quantile(ours, 0.99)
    assert alone.high / alone.low > 5  # judged alone, the same calls would spread tenfold
