"""Spot capacity in a timed replay: where tasks run, what reclaims cost them, and what it all costs."""

import dataclasses

import numpy as np
import pytest

from shipyard.errors import UsageError
from shipyard.governance.prices import parse_prices
from shipyard.scheduling.model import Node, Task
from shipyard.scheduling.policies import make_policy
from shipyard.scheduling.spot import SpotSettings, _pools, simulate
from shipyard.scheduling.trace import Arrival

PRICES = parse_prices("spot_discount = 0.65\n[gpu]\ndefault = 2.0", source="test")


def best_fit():
    return make_policy("best-fit")


def cluster(count=20):
    return [Node(name=f"n{i}", cpu_milli=64000, memory_mib=262144, num_gpu=8, gpu_type="V100") for i in range(count)]


def trace(count=200, seed=0, serving_share=0.5):
    rng = np.random.default_rng(seed)
    arrivals = []
    for i in range(count):
        qos = "LS" if rng.random() < serving_share else "BE"
        task = Task(name=f"t{i}", cpu_milli=4000, memory_mib=8192, num_gpu=int(rng.choice([1, 2])),
                    duration_s=float(rng.integers(600, 6 * 3600)))
        arrivals.append(Arrival(task=task, at_s=float(i * 600), qos=qos))
    return arrivals


def test_without_reclaims_the_tolerant_tasks_pay_the_spot_price_and_finish_on_time():
    arrivals = trace()
    base = simulate(arrivals, cluster(), PRICES, best_fit)
    spot = simulate(arrivals, cluster(), PRICES, best_fit, spot=SpotSettings(share=0.5, preemption_rate=0))
    tolerant_gpu_hours = sum(a.task.num_gpu * a.task.duration_s / 3600 for a in arrivals if a.qos == "BE")
    assert base.tolerant_cost == pytest.approx(2.0 * tolerant_gpu_hours)
    assert spot.tolerant_cost == pytest.approx(0.35 * base.tolerant_cost)
    assert spot.cost - spot.tolerant_cost == pytest.approx(base.cost - base.tolerant_cost), "serving stays on-demand"
    assert spot.spot_gpu_share == 1.0 and spot.preemptions == 0 and spot.lost_gpu_hours == 0
    assert np.all(spot.tolerant_delay_s == 0) and spot.makespan_s == base.makespan_s
    assert base.unfinished == spot.unfinished == 0 and spot.tolerant_tasks == len(spot.tolerant_delay_s)


def test_reclaims_cost_the_work_since_the_last_checkpoint_and_delay_completion():
    arrivals = trace(seed=1)
    quiet = simulate(arrivals, cluster(), PRICES, best_fit, spot=SpotSettings(share=0.5, preemption_rate=0))
    stormy = simulate(arrivals, cluster(), PRICES, best_fit,
                      spot=SpotSettings(share=0.5, preemption_rate=1.0, checkpoint_interval_s=600))
    assert stormy.preemptions > 0 and stormy.lost_gpu_hours > 0
    assert stormy.lost_gpu_hours <= stormy.preemptions * 2 * 600 / 3600, "at most one interval lost per reclaim"
    assert stormy.tolerant_cost > quiet.tolerant_cost
    assert stormy.tolerant_delay_s.max() > 0 and stormy.unfinished == 0
    rarely = simulate(arrivals, cluster(), PRICES, best_fit,
                      spot=SpotSettings(share=0.5, preemption_rate=1.0, checkpoint_interval_s=7200))
    assert rarely.lost_gpu_hours > stormy.lost_gpu_hours, "checkpointing less often loses more"


def test_each_reclaim_loses_less_than_one_checkpoint_interval_of_work():
    arrivals = trace(seed=1)
    for interval in (600, 1800, 7200):
        outcome = simulate(arrivals, cluster(), PRICES, best_fit,
                           spot=SpotSettings(share=0.5, preemption_rate=1.0, checkpoint_interval_s=interval))
        assert len(outcome.lost_work_s) == outcome.preemptions > 0
        assert 0 <= outcome.lost_work_s.min() and outcome.lost_work_s.max() < interval
        assert len(outcome.resume_after_reclaim_s) == outcome.preemptions, "every reclaimed task ran again"


def test_a_reclaimed_task_resumes_when_its_capacity_returns_or_at_once_where_on_demand_has_room():
    nodes = cluster(2)
    batch = Arrival(task=Task(name="b", cpu_milli=1000, num_gpu=8, duration_s=20 * 3600.0), at_s=0.0, qos="BE")
    serving = Arrival(task=Task(name="s", cpu_milli=1000, num_gpu=8, duration_s=100 * 3600.0), at_s=0.0, qos="LS")
    settings = SpotSettings(share=0.5, preemption_rate=0.5, checkpoint_interval_s=1800, replacement_s=600, seed=1)
    crowded = simulate([serving, batch], nodes, PRICES, best_fit, spot=settings)
    assert crowded.preemptions > 0 and len(crowded.resume_after_return_s) == crowded.preemptions
    assert np.all(crowded.resume_after_return_s == 0), "the replacement took it back the moment it joined"
    assert np.all(crowded.resume_after_reclaim_s == 600), "nowhere else to go: it waited for the replacement"
    roomy = simulate([batch], nodes, PRICES, best_fit, spot=settings)
    assert roomy.preemptions > 0 and np.all(roomy.resume_after_reclaim_s == 0), "on-demand took it at once"
    assert np.all(roomy.lost_work_s < 1800)


def test_the_replay_is_deterministic_for_a_seed():
    arrivals = trace(seed=2)
    settings = SpotSettings(share=0.4, preemption_rate=0.5, seed=3)
    first = simulate(arrivals, cluster(), PRICES, best_fit, spot=settings)
    again = simulate(arrivals, cluster(), PRICES, best_fit, spot=settings)
    assert (first.cost, first.preemptions, first.lost_gpu_hours) == (again.cost, again.preemptions,
                                                                     again.lost_gpu_hours)
    other = simulate(arrivals, cluster(), PRICES, best_fit, spot=dataclasses.replace(settings, seed=4))
    assert other.preemptions != first.preemptions or other.cost != first.cost


def test_serving_never_runs_on_spot_even_when_on_demand_is_full():
    nodes = cluster(4)
    arrivals = [Arrival(task=Task(name=f"s{i}", cpu_milli=1000, num_gpu=8, duration_s=3600.0), at_s=0.0, qos="LS")
                for i in range(4)]
    outcome = simulate(arrivals, nodes, PRICES, best_fit, spot=SpotSettings(share=0.5, preemption_rate=0))
    assert outcome.unfinished == 0
    assert outcome.makespan_s == 7200.0, "two on-demand nodes: the last two serving tasks waited an hour"
    spot_nodes, on_demand = _pools(nodes, SpotSettings(share=0.5))
    assert all(node.spot for node in spot_nodes.nodes) and not any(node.spot for node in on_demand.nodes)


def test_tolerant_tasks_fall_back_to_on_demand_when_spot_is_full():
    arrivals = [Arrival(task=Task(name=f"b{i}", cpu_milli=1000, num_gpu=8, duration_s=3600.0), at_s=0.0, qos="BE")
                for i in range(4)]
    outcome = simulate(arrivals, cluster(4), PRICES, best_fit, spot=SpotSettings(share=0.5, preemption_rate=0))
    assert outcome.makespan_s == 3600.0 and outcome.spot_gpu_share == 0.5
    assert outcome.tolerant_cost == pytest.approx(2 * 8 * 2.0 + 2 * 8 * 2.0 * 0.35)


@pytest.mark.parametrize("settings, message", [
    (dict(share=0), "the spot share is 0"), (dict(share=1.0), "the spot share is 1.0"),
    (dict(preemption_rate=-1), "the preemption rate is -1"),
    (dict(checkpoint_interval_s=0), "the checkpoint interval is 0 s"),
    (dict(replacement_s=-1), "the replacement delay is -1 s"),
])
def test_bad_spot_settings_are_refused(settings, message):
    with pytest.raises(UsageError, match=message):
        SpotSettings(**settings)


def test_an_empty_or_untimed_trace_and_a_share_leaving_no_spot_node_are_refused():
    with pytest.raises(UsageError, match="the trace has no tasks"):
        simulate([], cluster(), PRICES, best_fit)
    untimed = [Arrival(task=Task(name="u", cpu_milli=1), at_s=0.0, qos="BE")]
    with pytest.raises(UsageError, match="task 'u' has no duration"):
        simulate(untimed, cluster(), PRICES, best_fit)
    with pytest.raises(UsageError, match="leaves no spot or no on-demand node"):
        simulate(trace(count=5), cluster(2), PRICES, best_fit, spot=SpotSettings(share=0.1))
