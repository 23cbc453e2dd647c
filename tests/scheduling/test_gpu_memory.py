"""A task's GPU memory keeps it off GPUs that are too small: filters, place(), preemption and the extender."""

import numpy as np
import pytest
from fastapi.testclient import TestClient

from shipyard.errors import UsageError
from shipyard.pipeline.dag import StepResources
from shipyard.scheduling.cluster import Cluster
from shipyard.scheduling.extender import Extender
from shipyard.scheduling.extender_app import create_app
from shipyard.scheduling.filters import feasible, why_not
from shipyard.scheduling.gpu_memory import GPU_MEMORY_MIB, UNKNOWN, memory_per_gpu_mib
from shipyard.scheduling.kube import node_from_object, pod_for_task, pod_to_task
from shipyard.scheduling.model import Node, Task, task_for_step
from shipyard.scheduling.placement import Placement, Queued, place
from shipyard.scheduling.policies import make_policy
from shipyard.scheduling.preemption import plan_preemption
from tests.scheduling.kube_objects import extender_args, node, pod

GIB = 1024


def inventory():
    return Cluster([
        Node(name="t4", cpu_milli=16000, memory_mib=65536, num_gpu=2, gpu_type="T4"),
        Node(name="v100-32", cpu_milli=16000, memory_mib=65536, num_gpu=4, gpu_type="V100M32"),
        Node(name="mystery", cpu_milli=16000, memory_mib=65536, num_gpu=4, gpu_type="G2"),
        Node(name="labelled", cpu_milli=16000, memory_mib=65536, num_gpu=4, gpu_type="G3", gpu_memory_mib=80 * GIB),
        Node(name="cpu", cpu_milli=16000, memory_mib=65536),
    ])


def names(cluster, mask):
    return [cluster.nodes[i].name for i in np.flatnonzero(mask)]


def test_memory_per_gpu_is_the_nodes_own_figure_else_its_types_else_unknown():
    assert memory_per_gpu_mib("T4") == 16 * GIB and memory_per_gpu_mib("V100M32") == 32 * GIB
    assert memory_per_gpu_mib("G1") == UNKNOWN
    assert memory_per_gpu_mib("T4", 15 * GIB) == 15 * GIB
    assert inventory().gpu_memory_mib.tolist() == [16 * GIB, 32 * GIB, UNKNOWN, 80 * GIB, UNKNOWN]


def test_every_disclosed_gpu_model_of_the_openb_trace_has_a_memory_figure():
    openb_models = {"P100", "T4", "V100M16", "V100M32", "A10", "G1", "G2", "G3"}  # its README's list
    assert {t for t in openb_models if t not in GPU_MEMORY_MIB} == {"G1", "G2", "G3"}


def test_a_node_whose_gpus_are_smaller_than_the_request_is_filtered_out_with_the_reason():
    c = inventory()
    task = Task(name="big", cpu_milli=1000, num_gpu=1, gpu_milli=500, gpu_memory_mib=24 * GIB)
    assert names(c, feasible(task, c)) == ["v100-32", "labelled"]
    assert why_not(task, c, 0) == "GPU memory too small: type T4 has 16384 MiB per GPU, 24576 MiB asked"
    assert "GPU memory of type G2 is unknown" in why_not(task, c, 2)
    assert why_not(task, c, 1) is None
    anywhere = Task(name="small", cpu_milli=1000, num_gpu=1, gpu_milli=500, gpu_memory_mib=16 * GIB)
    assert names(c, feasible(anywhere, c)) == ["t4", "v100-32", "labelled"]
    no_ask = Task(name="any", cpu_milli=1000, num_gpu=1)
    assert names(c, feasible(no_ask, c)) == ["t4", "v100-32", "mystery", "labelled"]


def test_place_puts_the_task_where_its_memory_fits_and_queues_it_with_the_reason_when_no_gpu_is_big_enough():
    c = inventory()
    policy = make_policy("best-fit")
    assert place(Task(name="a", cpu_milli=1000, num_gpu=2, gpu_memory_mib=40 * GIB), c, policy) == \
        Placement("labelled", 3, (0, 1))
    assert place(Task(name="b", cpu_milli=1000, num_gpu=1, gpu_memory_mib=96 * GIB), c, policy) == \
        Queued("no node's GPUs have 98304 MiB of memory each (the largest has 81920 MiB)")
    only_unknown = Cluster([Node(name="m", cpu_milli=1000, memory_mib=1024, num_gpu=1, gpu_type="G1")])
    assert place(Task(name="c", cpu_milli=0, num_gpu=1, gpu_memory_mib=GIB), only_unknown, policy) == \
        Queued("no node's GPUs have 1024 MiB of memory each (no node's GPU memory is known)")


def test_preemption_never_frees_a_gpu_that_is_too_small():
    c = Cluster([Node(name="t4", cpu_milli=4000, memory_mib=4096, num_gpu=1, gpu_type="T4")])
    c.allocate(Task(name="low", cpu_milli=0, num_gpu=1, priority_class="batch-low"), 0, (0,))
    fits = Task(name="hi", cpu_milli=0, num_gpu=1, priority_class="serving", gpu_memory_mib=16 * GIB)
    too_big = Task(name="hi2", cpu_milli=0, num_gpu=1, priority_class="serving", gpu_memory_mib=17 * GIB)
    assert plan_preemption(fits, c) is not None
    assert plan_preemption(too_big, c) is None


def test_a_step_asks_for_gpu_memory_per_gpu_and_a_step_without_gpus_asks_for_none():
    task = task_for_step("train", StepResources(cpu=2, gpu=2, gpu_memory=40 * 2 ** 30))
    assert task.gpu_memory_mib == 40 * GIB
    assert task_for_step("cpu", StepResources(cpu=2, gpu_memory=1)).gpu_memory_mib == 0
    with pytest.raises(UsageError, match="negative"):
        Task(name="t", cpu_milli=0, num_gpu=1, gpu_memory_mib=-1)


def test_pods_and_nodes_carry_gpu_memory_as_annotation_and_feature_discovery_label():
    task = Task(name="ml/t", cpu_milli=1000, memory_mib=1024, num_gpu=1, gpu_milli=300, gpu_memory_mib=20 * GIB)
    assert pod_to_task(pod_for_task(task, name="t", namespace="ml")) == task
    labelled = node("n", product="G1")
    labelled["metadata"]["labels"]["nvidia.com/gpu.memory"] = "24576"
    assert node_from_object(labelled)[0].gpu_memory_mib == 24 * GIB
    labelled["metadata"]["labels"]["nvidia.com/gpu.memory"] = "lots"
    with pytest.raises(UsageError, match="nvidia.com/gpu.memory"):
        node_from_object(labelled)


def test_the_extender_filters_out_small_gpus_as_unresolvable_with_the_reason():
    client = TestClient(create_app(Extender("fgd")))
    big = pod("big", gpus=1)
    big["metadata"]["annotations"]["shipyard.io/gpu-memory"] = "40Gi"
    nodes = [node("a100", gpus=2), node("t4", gpus=2, product="Tesla-T4"), node("full-a100", gpus=1, gpu_free=[0])]
    result = client.post("/filter", json=extender_args(big, nodes)).json()
    assert [n["metadata"]["name"] for n in result["Nodes"]["items"]] == ["a100"]
    assert result["FailedAndUnresolvableNodes"] == {
        "t4": "GPU memory too small: type Tesla-T4 has 16384 MiB per GPU, 40960 MiB asked"}
    assert result["FailedNodes"] == {"full-a100": "no GPU with 1000 milli-GPU free"}
