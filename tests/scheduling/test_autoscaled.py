"""The autoscaled replay on hand-made traces whose node bill is computable by hand."""

import numpy as np
import pytest

from shipyard.errors import UsageError
from shipyard.governance.prices import parse_prices
from shipyard.scheduling.autoscaled import Autoscaler, simulate
from shipyard.scheduling.consolidation import Compaction, Movability, ScaleDown
from shipyard.scheduling.deadlines import Deadline, SpotFallback
from shipyard.scheduling.model import Node, Task
from shipyard.scheduling.policies import make_policy
from shipyard.scheduling.spot import SpotSettings
from shipyard.scheduling.trace import Arrival

PRICES = parse_prices("spot_discount = 0.5\n[gpu]\ndefault = 1.0", source="test")
"""A node costs 1 per GPU-hour, its cores and memory nothing; spot nodes half."""
HOUR = 3600.0


def pool(count=2, gpus=2):
    return [Node(name=f"n{i}", cpu_milli=8000, memory_mib=32768, num_gpu=gpus, gpu_type="T4") for i in range(count)]


def arrival(name, at, hours, gpus=1, qos="LS"):
    return Arrival(task=Task(name=name, cpu_milli=1000, num_gpu=gpus, duration_s=hours * HOUR), at_s=at, qos=qos)


def policy(name):
    return lambda: make_policy(name)


def test_packing_lets_a_node_go_where_spreading_keeps_two_up():
    instant = Autoscaler(provisioning_s=0, idle_s=600)
    arrivals = [arrival("a", 0, 1, gpus=2), arrival("b", 0, 1, gpus=2),
                arrival("c", 3700, 2), arrival("d", 3700, 2)]
    spread = simulate(arrivals, pool(), PRICES, policy("least-allocated"), autoscaler=instant)
    packed = simulate(arrivals, pool(), PRICES, policy("best-fit"), autoscaler=instant)
    # Both nodes come up for a and b; c and d arrive at 3,700 s, both nodes still up and empty.
    # Spreading puts them on one node each: both stay up until 3,700 + 7,200 s and 10 minutes more.
    assert spread.node_hours == pytest.approx(2 * 11500 / HOUR)
    assert spread.cost == pytest.approx(2 * 2 * 11500 / HOUR)
    # Packing puts both on n0: n1 is empty from 3,600 s and goes at 4,200 s.
    assert packed.node_hours == pytest.approx((11500 + 4200) / HOUR)
    assert packed.cost == pytest.approx(2 * (11500 + 4200) / HOUR)
    assert spread.scale_ups == packed.scale_ups == 2 and spread.peak_nodes == packed.peak_nodes == 2
    assert packed.gpu_hours_used == spread.gpu_hours_used == pytest.approx(2 * 2 + 2 * 2)
    assert packed.gpu_utilization == pytest.approx(8 / (2 * (11500 + 4200) / HOUR))
    assert packed.deadline_misses == spread.deadline_misses == 0 and packed.unfinished == 0


def test_a_node_stays_up_for_the_idle_time_and_a_task_within_it_reuses_it():
    scaler = Autoscaler(provisioning_s=0, idle_s=600)
    within = simulate([arrival("a", 0, 1), arrival("b", 3900, 1)], pool(1), PRICES, policy("best-fit"),
                      autoscaler=scaler)
    assert within.scale_ups == 1 and within.node_hours == pytest.approx((3900 + 3600 + 600) / HOUR)
    after = simulate([arrival("a", 0, 1), arrival("b", 4500, 1)], pool(1), PRICES, policy("best-fit"),
                     autoscaler=scaler)
    assert after.scale_ups == 2, "the node went down at 4,200 s and came up again for b"
    assert after.node_hours == pytest.approx((4200 + 4200) / HOUR)
    assert after.cost == pytest.approx(2 * 8400 / HOUR)


def test_the_provisioning_delay_delays_the_start_and_a_task_fits_on_a_node_coming_up():
    scaler = Autoscaler(provisioning_s=300, idle_s=600)
    bill = simulate([arrival("a", 0, 1), arrival("b", 100, 1)], pool(2), PRICES, policy("best-fit"),
                    autoscaler=scaler)
    assert bill.scale_ups == 1, "b waited for the node already coming up instead of bringing up another"
    assert sorted(bill.waiting_s) == [200, 300]
    assert bill.makespan_s == 300 + HOUR
    assert bill.node_hours == pytest.approx((300 + 3600 + 600) / HOUR), "billed from the decision to bring it up"


def test_a_reclaim_loses_the_work_since_the_checkpoint_and_requeues_the_task():
    settings = SpotSettings(share=0.5, preemption_rate=0.5, checkpoint_interval_s=1800, seed=12)
    first, second = np.random.default_rng(settings.seed).exponential(3600 / settings.preemption_rate, 2)
    hours = 6
    saved = first // 1800 * 1800
    remaining = hours * HOUR - saved
    assert first < hours * HOUR < first + second and second > remaining, "this seed reclaims once"
    batch = arrival("train", 0, hours, gpus=2, qos="BE")
    bill = simulate([batch], pool(2), PRICES, policy("best-fit"), spot=settings,
                    autoscaler=Autoscaler(provisioning_s=0, idle_s=600))
    assert bill.preemptions == 1 and bill.scale_ups == 2
    assert bill.lost_gpu_hours == pytest.approx(2 * (first - saved) / HOUR)
    finished = first + remaining
    assert bill.makespan_s == pytest.approx(finished)
    assert bill.spot_node_hours == bill.node_hours == pytest.approx((finished + 600) / HOUR)
    assert bill.cost == bill.spot_cost == pytest.approx(0.5 * 2 * (finished + 600) / HOUR)
    assert 0 < first - saved < 1800 and bill.deadline_misses == 0, "under 30 minutes redone: within the allowance"


def test_serving_never_goes_to_spot_and_waits_for_on_demand_room():
    settings = SpotSettings(share=0.5, preemption_rate=0, tolerant_qos=("BE",))
    arrivals = [arrival("s1", 0, 1, gpus=2), arrival("s2", 0, 1, gpus=2)]
    bill = simulate(arrivals, pool(2), PRICES, policy("best-fit"), spot=settings,
                    autoscaler=Autoscaler(provisioning_s=0, idle_s=0))
    assert bill.spot_cost == 0 and bill.scale_ups == 1
    assert bill.makespan_s == 2 * HOUR and sorted(bill.waiting_s) == [0, HOUR]
    assert bill.deadline_misses == 1, "s2 finished an hour late: past 1.1 h + 30 minutes"


def test_a_tolerant_task_takes_a_spot_node_before_bringing_up_on_demand():
    settings = SpotSettings(share=0.5, preemption_rate=0)
    bill = simulate([arrival("b", 0, 1, gpus=2, qos="BE")], pool(2), PRICES, policy("best-fit"), spot=settings,
                    autoscaler=Autoscaler(provisioning_s=0, idle_s=0))
    assert bill.cost == bill.spot_cost == pytest.approx(0.5 * 2)


def test_a_task_that_fits_no_node_of_the_pool_never_finishes_and_misses_its_deadline():
    bill = simulate([arrival("a", 0, 1), arrival("huge", 0, 1, gpus=8)], pool(2), PRICES, policy("best-fit"))
    assert bill.unfinished == 1 and bill.deadline_misses == 1 and len(bill.waiting_s) == 1


def test_the_random_expander_is_seeded():
    arrivals = [arrival(f"t{i}", i * 600.0, 1 + i % 3) for i in range(30)]
    nodes = pool(8) + [Node(name="big", cpu_milli=64000, memory_mib=65536, num_gpu=8, gpu_type="T4")]
    runs = [simulate(arrivals, nodes, PRICES, policy("least-allocated"),
                     make_expander=lambda seed=seed: make_policy("random", seed=seed)).cost for seed in (0, 0, 1, 2)]
    assert runs[0] == runs[1] and len(set(runs)) > 1


@pytest.mark.parametrize("settings, message", [
    (dict(provisioning_s=-1), "the provisioning delay is -1 s"),
    (dict(idle_s=-5), "the scale-down idle time is -5 s"),
    (dict(idle_s=float("nan")), "the scale-down idle time is nan s"),
])
def test_bad_autoscaler_settings_are_refused_with_a_hint(settings, message):
    with pytest.raises(UsageError, match=message) as caught:
        Autoscaler(**settings)
    assert caught.value.hint


def test_an_empty_trace_or_pool_an_untimed_task_and_a_replacement_delay_are_refused():
    with pytest.raises(UsageError, match="the trace has no tasks"):
        simulate([], pool(), PRICES, policy("best-fit"))
    with pytest.raises(UsageError, match="the node pool is empty"):
        simulate([arrival("a", 0, 1)], [], PRICES, policy("best-fit"))
    untimed = [Arrival(task=Task(name="u", cpu_milli=1), at_s=0.0, qos="BE")]
    with pytest.raises(UsageError, match="task 'u' has no duration"):
        simulate(untimed, pool(), PRICES, policy("best-fit"))
    with pytest.raises(UsageError, match="a replacement delay of 300 s") as caught:
        simulate([arrival("a", 0, 1)], pool(), PRICES, policy("best-fit"),
                 spot=SpotSettings(share=0.5, replacement_s=300))
    assert "provisioning delay" in caught.value.hint


def draining_trace(qos="LS"):
    """On 4-GPU nodes: n0 holds b (2 GPUs, 1 h) and c (1 GPU, 5 h); a (3 GPUs, 5 h) brings up n1.

    When b ends at 1 h, n0 is a quarter used, under the threshold, and c fits in n1's free GPU.
    """
    return [arrival("b", 0, 1, gpus=2), arrival("c", 0, 5, qos=qos), arrival("a", 0, 5, gpus=3)]


CA = Autoscaler(provisioning_s=0, idle_s=600, scale_down=ScaleDown())


def test_the_autoscaler_drains_a_node_under_half_used_and_a_serving_replica_restarts_losing_nothing():
    without = simulate(draining_trace(), pool(2, gpus=4), PRICES, policy("best-fit"),
                       autoscaler=Autoscaler(provisioning_s=0, idle_s=600))
    assert without.cost == pytest.approx(4 * (18600 + 18600) / HOUR) and without.moved_tasks == 0
    drained = simulate(draining_trace(), pool(2, gpus=4), PRICES, policy("best-fit"), autoscaler=CA)
    # n0 is under half used from 3,600 s; 10 minutes later c moves to n1 and n0 goes down.
    assert drained.node_hours == pytest.approx((4200 + 18600) / HOUR)
    assert drained.cost == pytest.approx(4 * (4200 + 18600) / HOUR)
    assert drained.drained_nodes == 1 and drained.moved_tasks == drained.serving_restarts == 1
    assert drained.compacted_tasks == 0 and drained.lost_gpu_hours == drained.moved_lost_gpu_hours == 0
    assert drained.makespan_s == 5 * HOUR and drained.deadline_misses == 0
    assert drained.gpu_hours_used == pytest.approx(2 + 5 + 15)


def test_a_moved_checkpointing_task_redoes_the_work_since_its_last_checkpoint():
    bill = simulate(draining_trace(qos="BE"), pool(2, gpus=4), PRICES, policy("best-fit"), autoscaler=CA,
                    movability=Movability(checkpoint_interval_s=1800))
    # c ran 4,200 s and kept the 3,600 s of its last checkpoint: 600 s redone, it ends at 4,200 + 14,400 s.
    assert bill.moved_tasks == 1 and bill.serving_restarts == 0
    assert bill.moved_lost_gpu_hours == bill.lost_gpu_hours == pytest.approx(600 / HOUR)
    assert bill.makespan_s == 18600
    assert bill.cost == pytest.approx(4 * (4200 + 19200) / HOUR)
    assert bill.gpu_hours_used == pytest.approx(2 + 5 + 600 / HOUR + 15)


def test_a_node_running_a_task_that_may_not_move_is_not_drained():
    bill = simulate(draining_trace(qos="Burstable"), pool(2, gpus=4), PRICES, policy("best-fit"), autoscaler=CA)
    assert bill.drained_nodes == bill.moved_tasks == 0
    assert bill.cost == pytest.approx(4 * (18600 + 18600) / HOUR)


def test_a_drain_that_does_not_fit_changes_nothing_and_is_tried_again_until_it_fits():
    # n0: b (2 GPUs, 1 h), c1 and c2 (1 GPU, 5 h each); n1: a (2 GPUs, 5 h) and d (1 GPU, 1.5 h).
    arrivals = [arrival("b", 0, 1, gpus=2), arrival("c1", 0, 5), arrival("c2", 0, 5),
                arrival("a", 0, 5, gpus=2), arrival("d", 0, 1.5)]
    scaler = Autoscaler(provisioning_s=0, idle_s=600, scale_down=ScaleDown(utilization_threshold=0.75))
    bill = simulate(arrivals, pool(2, gpus=4), PRICES, policy("best-fit"), autoscaler=scaler)
    # From 3,600 s n0 is half used; at 4,200 and 4,800 s c1 fits in n1's one free GPU but c2 does not,
    # so neither moves; at 5,400 s d has ended and both go.
    assert bill.drained_nodes == 1 and bill.moved_tasks == 2
    assert bill.cost == pytest.approx(4 * (5400 + 18600) / HOUR)
    assert bill.makespan_s == 5 * HOUR and bill.unfinished == 0
    assert bill.gpu_hours_used == pytest.approx(2 + 5 + 5 + 10 + 1.5)


def compaction_trace():
    """n0 holds b (2 GPUs, 1 h) and c (1 GPU, 5 h); n1 holds a (2 GPUs, 5 h), half used."""
    return [arrival("b", 0, 1, gpus=2), arrival("c", 0, 5), arrival("a", 0, 5, gpus=2)]


def test_compaction_empties_a_light_node_onto_one_at_the_threshold_and_the_empty_node_goes():
    scaler = Autoscaler(provisioning_s=0, idle_s=600)
    bill = simulate(compaction_trace(), pool(2, gpus=4), PRICES, policy("best-fit"), autoscaler=scaler,
                    compaction=Compaction(utilization_threshold=0.5, interval_s=600))
    # The pass at 3,600 s (after b ended) finds n0 a quarter used and n1 half: c moves, n0 is empty 10 minutes.
    assert bill.compacted_tasks == bill.moved_tasks == bill.serving_restarts == 1 and bill.drained_nodes == 0
    assert bill.cost == pytest.approx(4 * (4200 + 18600) / HOUR)
    assert bill.makespan_s == 5 * HOUR and bill.deadline_misses == 0


def test_compaction_moves_nothing_onto_nodes_under_the_threshold():
    scaler = Autoscaler(provisioning_s=0, idle_s=600)
    bill = simulate(compaction_trace(), pool(2, gpus=4), PRICES, policy("best-fit"), autoscaler=scaler,
                    compaction=Compaction(utilization_threshold=0.75, interval_s=600))
    assert bill.moved_tasks == 0
    assert bill.cost == pytest.approx(4 * (18600 + 18600) / HOUR)


def test_a_tolerant_task_without_the_slack_for_spot_goes_on_demand_and_is_not_moved_from_there():
    """c (BE) is due when its 5 hours are done: no slack for a reclaim, so on-demand, and pinned there."""
    exact = Deadline(slack=0, allowance_s=0)
    moved = simulate(draining_trace(qos="BE"), pool(2, gpus=4), PRICES, policy("best-fit"), autoscaler=CA,
                     movability=Movability(checkpoint_interval_s=1800), deadline=exact)
    assert moved.moved_tasks == 1 and moved.deadline_misses == 1, "on-demand and movable, c is drained and late"
    settings = SpotSettings(share=0.5, preemption_rate=0)
    stayed = simulate(draining_trace(qos="BE"), pool(4, gpus=4), PRICES, policy("best-fit"), spot=settings,
                      autoscaler=CA, movability=Movability(checkpoint_interval_s=1800), deadline=exact,
                      fallback=SpotFallback(provisioning_s=0))
    assert stayed.fallbacks == 1 and stayed.spot_cost == 0, "c went to an on-demand node, not to spot"
    assert stayed.moved_tasks == stayed.drained_nodes == 0 and stayed.deadline_misses == 0
    assert stayed.cost == pytest.approx(4 * (18600 + 18600) / HOUR)


def reclaimed_often(fallback, seed):
    settings = SpotSettings(share=0.5, preemption_rate=2, checkpoint_interval_s=1800, seed=seed)
    return simulate([arrival("train", 0, 2, gpus=2, qos="BE")], pool(2), PRICES, policy("best-fit"), spot=settings,
                    autoscaler=Autoscaler(provisioning_s=180, idle_s=600), fallback=fallback)


@pytest.mark.parametrize("seed", range(6))
def test_a_reclaimed_task_is_asked_again_and_falls_back_to_on_demand_before_it_is_late(seed):
    """Two hours of work due 2 h 42 min after arrival, on a spot node reclaimed twice an hour on average."""
    plain = reclaimed_often(None, seed)
    aware = reclaimed_often(SpotFallback(), seed)
    assert plain.fallbacks == 0 and plain.preemptions >= 2 and plain.cost == plain.spot_cost
    assert aware.deadline_misses == 0 and aware.unfinished == 0
    # It starts on spot (42 minutes of slack), is reclaimed, and is then short of slack: on-demand, never reclaimed.
    assert aware.fallbacks == 1 and aware.cost > aware.spot_cost > 0
    assert 1 <= aware.preemptions <= 2 and aware.preemptions <= plain.preemptions


def test_without_the_rule_a_task_reclaimed_over_and_over_is_late():
    plain = [reclaimed_often(None, seed) for seed in range(6)]
    assert sum(bill.deadline_misses for bill in plain) >= 4, [bill.makespan_s for bill in plain]
    assert sum(reclaimed_often(SpotFallback(), seed).deadline_misses for seed in range(6)) == 0
