"""The replay on a small generated trace."""

import numpy as np
import pytest

from shipyard.errors import UsageError
from shipyard.scheduling.fragmentation import Workload
from shipyard.scheduling.model import Node, Task
from shipyard.scheduling.policies import make_policy
from shipyard.scheduling.simulator import replay


def generated(seed=0, count=300):
    rng = np.random.default_rng(seed)
    nodes = [Node(name=f"n{i}", cpu_milli=32000, memory_mib=262144, num_gpu=int(g), gpu_type="T4" if g < 4 else "V100")
             for i, g in enumerate(rng.choice([2, 4, 8], 24))]
    shares = [1000, 1000, 500, 250, 700, 300]
    tasks = []
    for i in range(count):
        kind = rng.random()
        if kind < 0.1:
            tasks.append(Task(name=f"t{i}", cpu_milli=2000, memory_mib=4096))
        elif kind < 0.25:
            tasks.append(Task(name=f"t{i}", cpu_milli=8000, memory_mib=4096, num_gpu=int(rng.choice([2, 4]))))
        else:
            tasks.append(Task(name=f"t{i}", cpu_milli=int(rng.choice([1000, 4000])), memory_mib=4096, num_gpu=1,
                              gpu_milli=int(rng.choice(shares))))
    return nodes, tasks


def test_the_replay_runs_until_demand_reaches_the_target_and_accounts_every_task():
    nodes, tasks = generated()
    outcome = replay(tasks, nodes, make_policy("best-fit"), max_demand=1.2)
    capacity = sum(n.num_gpu for n in nodes) * 1000
    assert outcome.capacity_milli == capacity
    assert outcome.arrived_milli[-1] >= 1.2 * capacity > outcome.arrived_milli[-2]
    assert np.all(np.diff(outcome.arrived_milli) >= 0) and np.all(np.diff(outcome.allocated_milli) >= 0)
    assert outcome.allocated_milli[-1] <= capacity
    assert outcome.failed > 0 and len(outcome.latency_s) == len(outcome.cpu_s) == len(outcome.arrived_milli)
    assert outcome.checkpoints[0] == 0.01 and outcome.checkpoints[-1] == pytest.approx(1.2)
    assert 0 < outcome.allocated_share_at(1.0) <= 1 and 0 <= outcome.fragment_share_at(1.0) <= 1


def test_the_replay_is_deterministic_for_a_seed():
    nodes, tasks = generated()
    first = replay(tasks, nodes, make_policy("random", seed=3), max_demand=1.5, seed=7)
    again = replay(tasks, nodes, make_policy("random", seed=3), max_demand=1.5, seed=7)
    assert np.array_equal(first.allocated_milli, again.allocated_milli)


def test_fragmentation_aware_placement_allocates_at_least_as_much_as_random_on_a_shared_workload():
    nodes, tasks = generated(seed=1, count=400)
    workload = Workload.of(tasks)
    allocated = {name: replay(tasks, nodes, make_policy(name, workload=workload), workload=workload,
                              max_demand=1.3).allocated_share_at(1.3) for name in ("random", "fgd")}
    assert allocated["fgd"] >= allocated["random"]


def test_a_trace_without_gpu_tasks_is_refused():
    with pytest.raises(UsageError, match="no task of the trace asks for a GPU"):
        replay([Task(name="cpu", cpu_milli=1)], [Node(name="n", cpu_milli=1, memory_mib=1, num_gpu=1)],
               make_policy("best-fit"))


def test_a_non_positive_demand_target_is_refused():
    nodes, tasks = generated(count=20)
    with pytest.raises(UsageError, match="max_demand is 0"):
        replay(tasks, nodes, make_policy("best-fit"), max_demand=0)
