"""Each policy on a small hand-built cluster whose right answer is known."""

import pytest

from shipyard.errors import UsageError
from shipyard.scheduling.cluster import Cluster
from shipyard.scheduling.fragmentation import Workload
from shipyard.scheduling.model import Node, Task
from shipyard.scheduling.placement import Placement, place
from shipyard.scheduling.policies import POLICIES, make_policy


def nodes(*gpus, cpu=32000):
    return Cluster([Node(name=f"n{i}", cpu_milli=cpu, memory_mib=65536, num_gpu=len(g), gpu_type="T4")
                    for i, g in enumerate(gpus)])


def with_free(cluster, *gpu_free):
    for i, free in enumerate(gpu_free):
        cluster.observe(i, gpu_milli=list(free))
    return cluster


def chosen(policy, task, cluster, workload=None):
    decision = place(task, cluster, make_policy(policy, workload=workload))
    assert isinstance(decision, Placement)
    return decision.node, decision.gpus


WHOLE = Task(name="whole", cpu_milli=1000, num_gpu=1)
SHARE = Task(name="share", cpu_milli=1000, num_gpu=1, gpu_milli=300)


def test_best_fit_takes_the_node_left_with_least_and_dot_product_the_most_aligned():
    cluster = with_free(nodes([1000] * 2, [1000] * 2), [1000, 1000], [1000, 0])
    cluster.observe(1, cpu_milli=8000)
    assert chosen("best-fit", WHOLE, cluster) == ("n1", (0,))
    assert chosen("dot-product", WHOLE, cluster) == ("n0", (0,))


def test_least_allocated_spreads_to_the_node_left_with_the_most_free_cpu_and_memory():
    cluster = nodes([1000] * 2, [1000] * 2, [1000] * 2)
    cluster.observe(0, cpu_milli=8000)
    cluster.observe(1, memory_mib=32768)
    assert chosen("least-allocated", WHOLE, cluster) == ("n2", (0,))
    assert chosen("best-fit", WHOLE, cluster) == ("n0", (0,))
    cluster.observe(2, cpu_milli=2000)
    assert chosen("least-allocated", WHOLE, cluster) == ("n1", (0,)), "half the memory free beats a quarter of the CPU"


def test_gpu_packing_prefers_a_shared_gpu_then_a_busy_node_then_an_idle_one():
    busy_node = with_free(nodes([0] * 2, [0] * 2), [1000, 1000], [1000, 0])
    assert chosen("gpu-packing", SHARE, busy_node) == ("n1", (0,))
    shared_gpu = with_free(nodes([0] * 2, [0] * 2, [0] * 2), [1000, 1000], [1000, 0], [600, 1000])
    assert chosen("gpu-packing", SHARE, shared_gpu) == ("n2", (0,))


def test_gpu_clustering_puts_a_task_with_tasks_of_its_own_gpu_request():
    cluster = nodes([0] * 2, [0] * 2)
    cluster.allocate(Task(name="other", cpu_milli=0, num_gpu=1, gpu_milli=600), 0, (0,))
    cluster.allocate(Task(name="same", cpu_milli=0, num_gpu=1, gpu_milli=300), 1, (0,))
    assert chosen("gpu-clustering", SHARE, cluster) == ("n1", (0,))
    assert chosen("gpu-packing", SHARE, cluster) == ("n0", (0,))


def test_random_fit_is_seeded_and_only_picks_nodes_that_fit():
    cluster = with_free(nodes([0] * 2, [0] * 2, [0] * 2, [0] * 2), [1000, 1000], [0, 0], [1000, 1000], [1000, 1000])
    picks = [place(Task(name=f"t{i}", cpu_milli=0, num_gpu=1), cluster, policy).node
             for policy in [make_policy("random", seed=1)] for i in range(40)]
    assert set(picks) == {"n0", "n2", "n3"}
    again = make_policy("random", seed=1)
    assert [place(Task(name=f"t{i}", cpu_milli=0, num_gpu=1), cluster, again).node for i in range(40)] == picks


def test_fgd_avoids_leaving_a_sliver_that_best_fit_leaves():
    # Tasks of the workload take 500 milli. Putting 400 on n0's 600 leaves 200 no task can use;
    # putting it on n1 leaves 600, still usable: FGD picks n1, best-fit the fuller n0.
    workload = Workload.of([Task(name="w", cpu_milli=1000, num_gpu=1, gpu_milli=500)])
    cluster = with_free(nodes([0] * 2, [0] * 2), [0, 600], [1000, 1000])
    task = Task(name="t", cpu_milli=1000, num_gpu=1, gpu_milli=400)
    assert chosen("best-fit", task, cluster) == ("n0", (1,))
    assert chosen("fgd", task, cluster, workload) == ("n1", (0,))


def test_fgd_puts_a_share_on_the_gpu_of_the_node_that_fragments_least():
    # On [1000, 600], 400 on the 600 strands 200 for the workload's 500-milli tasks; on the whole GPU
    # it leaves 600 and 600, both usable. The other policies take the fullest GPU with room.
    workload = Workload.of([Task(name="w", cpu_milli=1000, num_gpu=1, gpu_milli=500)])
    cluster = with_free(nodes([0] * 2), [1000, 600])
    task = Task(name="t", cpu_milli=1000, num_gpu=1, gpu_milli=400)
    assert chosen("fgd", task, cluster, workload) == ("n0", (0,))
    assert chosen("best-fit", task, cluster) == ("n0", (1,))


def test_fgd_counts_cpu_exhaustion_as_fragmenting_the_nodes_gpus():
    # Taking n0's last CPU strands its two free GPUs for every task of the workload.
    workload = Workload.of([Task(name="w", cpu_milli=4000, num_gpu=1)])
    cluster = nodes([0] * 2, [0] * 4)
    cluster.observe(0, cpu_milli=4000)
    cluster.observe(1, gpu_milli=[1000, 1000, 0, 0])
    cpu_task = Task(name="cpu", cpu_milli=4000)
    assert chosen("best-fit", cpu_task, cluster)[0] == "n0"
    assert chosen("fgd", cpu_task, cluster, workload)[0] == "n1"


def test_fgd_pack_breaks_fgd_ties_towards_the_fuller_node():
    workload = Workload.of([Task(name="w", cpu_milli=1000, num_gpu=1)])
    cluster = with_free(nodes([0] * 2, [0] * 3), [1000, 1000], [1000, 0, 0])
    assert chosen("fgd", WHOLE, cluster, workload) == ("n0", (0,))
    assert chosen("fgd-pack", WHOLE, cluster, workload) == ("n1", (0,))


def test_fgd_pack_puts_a_task_with_tasks_that_end_when_it_does():
    workload = Workload.of([Task(name="w", cpu_milli=1000, num_gpu=1)])
    cluster = nodes([0] * 2, [0] * 2)
    cluster.allocate(Task(name="short", cpu_milli=0, num_gpu=1, duration_s=100), 0, (0,))
    cluster.allocate(Task(name="long", cpu_milli=0, num_gpu=1, duration_s=1000), 1, (0,))
    cluster.now = 50.0
    assert chosen("fgd-pack", Task(name="t", cpu_milli=0, num_gpu=1, duration_s=60), cluster, workload)[0] == "n0"
    assert chosen("fgd-pack", Task(name="t", cpu_milli=0, num_gpu=1, duration_s=900), cluster, workload)[0] == "n1"


def test_fgd_refreshes_its_measure_of_the_nodes_that_changed():
    workload = Workload.of([Task(name="w", cpu_milli=1000, num_gpu=1, gpu_milli=500)])
    cluster = nodes([0] * 2, [0] * 2)
    policy = make_policy("fgd", workload=workload)
    before = policy.current(cluster).copy()
    cluster.allocate(Task(name="sliver", cpu_milli=0, num_gpu=1, gpu_milli=700), 1, (0,))
    after = policy.current(cluster)
    assert before.tolist() == [0.0, 0.0] and after.tolist() == [0.0, 300.0]


def test_every_policy_is_made_by_name_and_unknown_ones_are_refused():
    workload = Workload.of([WHOLE])
    assert {make_policy(name, workload=workload).name for name in POLICIES} == set(POLICIES)
    with pytest.raises(UsageError, match="no scheduling policy"):
        make_policy("tetris")
    with pytest.raises(UsageError, match="needs the workload"):
        make_policy("fgd")
