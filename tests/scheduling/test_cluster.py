import numpy as np
import pytest

from shipyard.errors import RefusedError, UsageError
from shipyard.scheduling.cluster import Cluster
from shipyard.scheduling.model import Node, Task


def cluster():
    return Cluster([Node(name="a", cpu_milli=8000, memory_mib=1024, num_gpu=2, gpu_type="T4"),
                    Node(name="b", cpu_milli=4000, memory_mib=512, num_gpu=0)])


def test_allocate_and_release_account_cpu_memory_per_gpu_milli_and_team_use():
    c = cluster()
    share = Task(name="share", cpu_milli=1000, memory_mib=100, num_gpu=1, gpu_milli=300, team="vision")
    whole = Task(name="whole", cpu_milli=2000, memory_mib=200, num_gpu=1, gpu_milli=1000, team="vision")
    c.allocate(share, 0, (1,))
    c.allocate(whole, 0, (0,))
    assert c.gpu_free[0].tolist()[:2] == [0, 700]
    assert (c.cpu_free[0], c.memory_free[0]) == (5000, 724)
    assert c.team_gpu_milli["vision"] == 1300
    assert c.gpu_allocated_milli == 1300 and c.gpu_capacity_milli == 2000
    c.release("share")
    assert c.gpu_free[0].tolist()[:2] == [0, 1000]
    assert c.team_gpu_milli["vision"] == 1000
    assert set(c.running) == {"whole"}


def test_gpu_slots_past_a_nodes_gpu_count_are_never_free():
    c = cluster()
    assert c.gpu_free[1].sum() == 0 and c.gpu_free[0].sum() == 2000
    with pytest.raises(RefusedError):
        c.allocate(Task(name="t", cpu_milli=0, num_gpu=1, gpu_milli=100), 0, (5,))


def test_a_misfit_or_duplicate_allocation_is_refused_and_changes_nothing():
    c = cluster()
    before = (c.cpu_free.copy(), c.gpu_free.copy())
    with pytest.raises(RefusedError, match="does not fit"):
        c.allocate(Task(name="big", cpu_milli=9000), 0, ())
    with pytest.raises(RefusedError, match="distinct GPUs"):
        c.allocate(Task(name="two", cpu_milli=0, num_gpu=2), 0, (0, 0))
    assert np.array_equal(before[0], c.cpu_free) and np.array_equal(before[1], c.gpu_free)
    c.allocate(Task(name="once", cpu_milli=0), 1, ())
    with pytest.raises(RefusedError, match="already running"):
        c.allocate(Task(name="once", cpu_milli=0), 1, ())


def test_unknown_names_are_usage_errors():
    c = cluster()
    with pytest.raises(UsageError, match="no node named"):
        c.node_index("zzz")
    with pytest.raises(UsageError, match="no running task"):
        c.release("zzz")
    with pytest.raises(UsageError, match="share a name"):
        Cluster([Node(name="x", cpu_milli=1, memory_mib=1), Node(name="x", cpu_milli=1, memory_mib=1)])


def test_observed_free_resources_replace_the_defaults():
    c = cluster()
    c.observe(0, cpu_milli=100, memory_mib=10, gpu_milli=[250, 1000])
    assert (c.cpu_free[0], c.memory_free[0], c.gpu_free[0, 0], c.gpu_free[0, 1]) == (100, 10, 250, 1000)
