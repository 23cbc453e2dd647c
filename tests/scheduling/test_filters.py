import numpy as np

from shipyard.scheduling.cluster import Cluster
from shipyard.scheduling.filters import choose_gpus, feasible, why_not
from shipyard.scheduling.model import Node, Task


def inventory():
    return Cluster([
        Node(name="t4", cpu_milli=16000, memory_mib=65536, num_gpu=2, gpu_type="T4"),
        Node(name="v100", cpu_milli=16000, memory_mib=65536, num_gpu=4, gpu_type="V100"),
        Node(name="spot", cpu_milli=16000, memory_mib=65536, num_gpu=4, gpu_type="V100", spot=True),
        Node(name="tainted", cpu_milli=16000, memory_mib=65536, num_gpu=4, gpu_type="V100", taints=("team-a",)),
        Node(name="small", cpu_milli=1000, memory_mib=1024, num_gpu=8, gpu_type="T4"),
    ])


def names(cluster, mask):
    return [cluster.nodes[i].name for i in np.flatnonzero(mask)]


def test_a_spot_only_task_goes_to_spot_nodes_only():
    c = inventory()
    assert names(c, feasible(Task(name="s", cpu_milli=500, spot=True, spot_only=True), c)) == ["spot"]
    assert why_not(Task(name="s", cpu_milli=0, spot=True, spot_only=True), c, 0) == \
        "on-demand node: the task runs on spot only"


def test_capacity_gpu_type_spot_and_taints_each_exclude_nodes():
    c = inventory()
    assert names(c, feasible(Task(name="a", cpu_milli=2000, num_gpu=4), c)) == ["v100"]
    assert names(c, feasible(Task(name="b", cpu_milli=500, num_gpu=1, gpu_milli=500, gpu_types=("T4",)), c)) == [
        "t4", "small"]
    assert names(c, feasible(Task(name="c", cpu_milli=500, num_gpu=4, spot=True, tolerations=("team-a",)), c)) == [
        "v100", "spot", "tainted", "small"]
    assert names(c, feasible(Task(name="d", cpu_milli=0, memory_mib=2048), c)) == ["t4", "v100"]


def test_a_share_needs_one_gpu_with_room_and_whole_gpus_need_untouched_ones():
    c = inventory()
    c.observe(0, gpu_milli=[600, 600])
    assert not feasible(Task(name="a", cpu_milli=0, num_gpu=1, gpu_milli=700), c)[0]
    assert feasible(Task(name="b", cpu_milli=0, num_gpu=1, gpu_milli=600), c)[0]
    assert not feasible(Task(name="c", cpu_milli=0, num_gpu=1, gpu_milli=1000), c)[0]


def test_why_not_names_the_first_failing_check():
    c = inventory()
    assert why_not(Task(name="a", cpu_milli=0), c, 2) == "spot node: the task does not tolerate spot"
    assert why_not(Task(name="a", cpu_milli=0), c, 3) == "untolerated taint team-a"
    assert "GPU type T4" in why_not(Task(name="a", cpu_milli=0, num_gpu=1, gpu_types=("V100",)), c, 0)
    assert "insufficient CPU" in why_not(Task(name="a", cpu_milli=2000), c, 4)
    assert "fewer than 4 whole GPUs" in why_not(Task(name="a", cpu_milli=0, num_gpu=4), c, 0)
    assert why_not(Task(name="a", cpu_milli=0), c, 0) is None


def test_a_share_goes_on_the_fullest_gpu_with_room_and_whole_gpus_on_the_first_free():
    free = np.array([[1000, 400, 700, 300], [1000, 1000, 500, 1000]])
    share = choose_gpus(Task(name="s", cpu_milli=0, num_gpu=1, gpu_milli=350), free)
    assert share.tolist() == [[False, True, False, False], [False, False, True, False]]
    whole = choose_gpus(Task(name="w", cpu_milli=0, num_gpu=2), free)
    assert whole.tolist() == [[True, False, False, False], [True, True, False, False]]
