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


def test_a_task_whose_deadline_leaves_no_room_for_a_reclaim_is_placed_on_demand_or_queued():
    spot = Node(name="spot", cpu_milli=8000, memory_mib=8192, num_gpu=2, gpu_type="T4", spot=True)
    od = Node(name="od", cpu_milli=8000, memory_mib=8192, num_gpu=2, gpu_type="T4")
    c = Cluster([spot, od])
    # An hour of work due in 2 h, ten-minute checkpoints: spot until 17 minutes of slack are left.
    task = Task(name="t", cpu_milli=1000, num_gpu=1, spot=True, duration_s=3600, due_s=7200,
                checkpoint_interval_s=600)
    policy = make_policy("best-fit")
    assert place(task, c, policy, now_s=0).node == "spot", "best-fit takes the first of equals"
    assert place(task, c, policy, now_s=7200 - 3600 - 1020).node == "od"
    c.allocate(Task(name="big", cpu_milli=1000, num_gpu=2), 1, (0, 1))
    queued = place(task, c, policy, now_s=7200 - 3600 - 1020)
    assert isinstance(queued, Queued)
    assert queued.reason.startswith("no on-demand node has room for the task, and its deadline keeps it off spot (")
    assert place(task, c, policy, now_s=0).node == "spot"
