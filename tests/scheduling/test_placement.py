import numpy as np

from shipyard.scheduling.cluster import Cluster
from shipyard.scheduling.model import Node, Task
from shipyard.scheduling.placement import Placement, Queued, commit, place
from shipyard.scheduling.policies import make_policy


def cluster():
    return Cluster([Node(name="a", cpu_milli=4000, memory_mib=4096, num_gpu=2, gpu_type="T4")])


def test_place_changes_nothing_and_commit_applies_it():
    c = cluster()
    task = Task(name="t", cpu_milli=1000, num_gpu=1, gpu_milli=400)
    decision = place(task, c, make_policy("best-fit"))
    assert decision == Placement("a", 0, (0,))
    assert c.gpu_free[0, 0] == 1000 and not c.running
    commit(task, c, decision)
    assert c.gpu_free[0, 0] == 600 and set(c.running) == {"t"}


def test_a_task_that_fits_nowhere_is_queued_with_the_reason():
    decision = place(Task(name="t", cpu_milli=1000, num_gpu=4), cluster(), make_policy("best-fit"))
    assert decision == Queued("no node has room for the task")


def test_among_limits_the_choice_to_the_nodes_it_marks():
    c = Cluster([Node(name=name, cpu_milli=4000, memory_mib=4096, num_gpu=2, gpu_type="T4") for name in "abc"])
    c.allocate(Task(name="busy", cpu_milli=3000, num_gpu=1), 2, (0,))
    task = Task(name="t", cpu_milli=1000, num_gpu=1)
    assert place(task, c, make_policy("best-fit")).node == "c"
    assert place(task, c, make_policy("best-fit"), among=np.array([False, True, False])).node == "b"
    assert place(task, c, make_policy("best-fit"), among=np.zeros(3, dtype=bool)) == Queued(
        "no node has room for the task")
