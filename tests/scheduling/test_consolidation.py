"""The requested share cluster-autoscaler scales down by, what a move costs a task, and bad settings."""

import numpy as np
import pytest

from shipyard.errors import UsageError
from shipyard.scheduling.cluster import Cluster
from shipyard.scheduling.consolidation import Compaction, Movability, ScaleDown, requested_share
from shipyard.scheduling.model import Node, Task


def test_a_gpu_node_is_as_used_as_its_gpus_and_a_cpu_node_as_the_larger_of_cpu_and_memory():
    cluster = Cluster([Node(name="gpu", cpu_milli=8000, memory_mib=1000, num_gpu=4, gpu_type="T4"),
                       Node(name="cpu", cpu_milli=8000, memory_mib=1000)])
    cluster.allocate(Task(name="share", cpu_milli=8000, memory_mib=1000, num_gpu=1, gpu_milli=500), 0, (0,))
    cluster.allocate(Task(name="whole", cpu_milli=0, num_gpu=1), 0, (1,))
    cluster.allocate(Task(name="cpu-heavy", cpu_milli=2000, memory_mib=750), 1, ())
    assert requested_share(cluster) == pytest.approx([1.5 / 4, 0.75]), "the GPU node's full CPU is not looked at"
    assert requested_share(cluster, np.array([1])) == pytest.approx([0.75])


def test_a_serving_replica_keeps_its_work_and_a_checkpointing_task_the_work_to_its_last_checkpoint():
    movability = Movability(checkpointing_qos=("BE",), checkpoint_interval_s=1800, serving_qos=("LS",))
    assert movability.saved_s("LS", 4000) == 4000
    assert movability.saved_s("BE", 4000) == 3600 and movability.saved_s("BE", 1799) == 0
    assert movability.movable("LS") and movability.movable("BE") and not movability.movable("Burstable")


@pytest.mark.parametrize("make, message", [
    (lambda: ScaleDown(utilization_threshold=0), "the scale-down utilization threshold is 0"),
    (lambda: ScaleDown(utilization_threshold=1.5), "the scale-down utilization threshold is 1.5"),
    (lambda: ScaleDown(utilization_threshold=float("nan")), "the scale-down utilization threshold is nan"),
    (lambda: Compaction(utilization_threshold=-0.2), "the compaction utilization threshold is -0.2"),
    (lambda: Compaction(interval_s=0), "the compaction interval is 0 s"),
    (lambda: Movability(checkpoint_interval_s=0), "the checkpoint interval is 0 s"),
    (lambda: Movability(checkpointing_qos=("BE", "LS")), "QoS LS is both checkpointing and serving"),
])
def test_bad_consolidation_settings_are_refused_with_a_hint(make, message):
    with pytest.raises(UsageError, match=message) as caught:
        make()
    assert caught.value.hint
