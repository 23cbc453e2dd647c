import pytest

from shipyard.errors import UsageError
from shipyard.scheduling.model import BATCH_LOW, SERVING, Node, Task


@pytest.mark.parametrize("fields, says", [
    ({"num_gpu": 9}, "0 to 8"),
    ({"num_gpu": 0, "gpu_milli": 500}, "num_gpu=1"),
    ({"num_gpu": 1, "gpu_milli": -5}, "1 to 1000"),
    ({"num_gpu": 1, "gpu_milli": 1500}, "1 to 1000"),
    ({"num_gpu": 2, "gpu_milli": 500}, "whole"),
    ({"priority_class": "urgent"}, "serving"),
    ({"cpu_milli": -1}, "non-negative"),
])
def test_a_task_that_asks_for_the_impossible_is_refused_with_what_is_allowed(fields, says):
    with pytest.raises(UsageError) as error:
        Task(**{"name": "t", "cpu_milli": 1000, **fields})
    assert says in error.value.render()


def test_gpu_demand_counts_a_share_of_one_gpu_or_whole_gpus():
    assert Task(name="share", cpu_milli=0, num_gpu=1, gpu_milli=250).gpu_demand_milli == 250
    assert Task(name="whole", cpu_milli=0, num_gpu=4, gpu_milli=1000).gpu_demand_milli == 4000
    assert Task(name="whole-default", cpu_milli=0, num_gpu=2).gpu_demand_milli == 2000
    assert Task(name="cpu", cpu_milli=500).gpu_demand_milli == 0


def test_only_spot_and_batch_low_tasks_are_preemptible_and_serving_never():
    assert Task(name="low", cpu_milli=1, priority_class=BATCH_LOW).preemptible
    assert Task(name="spot", cpu_milli=1, spot=True).preemptible
    assert not Task(name="batch", cpu_milli=1).preemptible
    assert not Task(name="serving-on-spot", cpu_milli=1, priority_class=SERVING, spot=True).preemptible


def test_a_node_with_more_than_eight_gpus_is_refused():
    with pytest.raises(UsageError) as error:
        Node(name="big", cpu_milli=1, memory_mib=1, num_gpu=16)
    assert "has 16 GPUs" in error.value.render() and "0 to 8" in error.value.render()
