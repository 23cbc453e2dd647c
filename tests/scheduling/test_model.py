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


def test_a_step_becomes_a_task_the_way_every_placer_sees_it():
    from shipyard.pipeline.dag import StepResources
    from shipyard.scheduling.model import task_for_step

    share = task_for_step("train", StepResources(cpu=2.5, memory=3 * 2**30, gpu=0.25, gpu_types=("T4", "A10"),
                                                 expected_duration=600.0, spot=True, priority="batch-low"),
                          team="fraud")
    assert (share.cpu_milli, share.memory_mib, share.num_gpu, share.gpu_milli) == (2500, 3072, 1, 250)
    assert (share.gpu_types, share.team, share.priority_class, share.spot, share.duration_s) == (
        ("T4", "A10"), "fraud", "batch-low", True, 600.0)
    assert share.preemptible and share.gpu_demand_milli == 250
    whole = task_for_step("big", StepResources(gpu=4, priority="serving"))
    assert (whole.num_gpu, whole.gpu_milli, whole.gpu_demand_milli, whole.priority) == (4, 1000, 4000, 1000)
    cpu_only = task_for_step("etl", StepResources(memory=1))
    assert (cpu_only.num_gpu, cpu_only.memory_mib, cpu_only.priority_class) == (0, 1, "batch")


def test_a_steps_pod_reads_back_as_the_same_task_in_the_extender():
    from shipyard.pipeline.dag import StepResources
    from shipyard.scheduling.kube import pod_for_task, pod_to_task
    from shipyard.scheduling.model import task_for_step

    for resources in (StepResources(), StepResources(gpu=0.5, spot=True, gpu_types=("T4",), expected_duration=90.0),
                      StepResources(cpu=8, memory=64 * 2**30, gpu=8, priority="batch-high"),
                      StepResources(cpu=2, spot=True, spot_only=True)):
        task = task_for_step("train", resources, team="fraud")
        read_back = pod_to_task(pod_for_task(task, name="train", namespace="ml"))
        assert read_back.name == "ml/train"
        for field in ("cpu_milli", "memory_mib", "num_gpu", "gpu_milli", "gpu_types", "team", "priority_class",
                      "spot", "spot_only", "duration_s"):
            assert getattr(read_back, field) == getattr(task, field), field
