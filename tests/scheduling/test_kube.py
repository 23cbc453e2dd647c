from decimal import Decimal

import pytest

from shipyard.errors import UsageError
from shipyard.scheduling.kube import node_from_object, pod_to_task, quantity
from tests.scheduling.kube_objects import node, pod


@pytest.mark.parametrize("text, value", [("500m", "0.5"), ("2", "2"), ("16Gi", str(16 * 2 ** 30)),
                                         ("1.5", "1.5"), ("1k", "1000"), ("1e3", "1000")])
def test_kubernetes_quantities(text, value):
    assert quantity(text, "x") == Decimal(value)


def test_a_malformed_quantity_is_a_usage_error_naming_the_field():
    with pytest.raises(UsageError, match="container 0 cpu is 'two'"):
        pod_to_task(pod("p", cpu="two"))


def test_a_pod_becomes_a_task_with_its_gpus_share_types_priority_and_spot():
    whole = pod_to_task(pod("train", gpus=4, cpu="8", memory="32Gi", priority_class="batch-high", team="vision"))
    assert (whole.name, whole.cpu_milli, whole.memory_mib, whole.num_gpu, whole.per_gpu_milli) == (
        "ml/train", 8000, 32768, 4, 1000)
    assert (whole.priority_class, whole.team, whole.spot) == ("batch-high", "vision", False)
    share = pod_to_task(pod("infer", gpu_milli=250, gpu_types="T4|A10", spot=True))
    assert (share.num_gpu, share.gpu_milli, share.gpu_types, share.spot) == (1, 250, ("T4", "A10"), True)
    with pytest.raises(UsageError, match="ml/bad"):
        pod_to_task(pod("bad", gpu_milli=2000))


def test_a_node_reports_its_gpu_model_spot_taints_and_what_is_free():
    spec, free = node_from_object(node("g1", gpus=2, product="Tesla-T4", gpu_free=[1000, 300], spot=True,
                                       taints=("dedicated",)))
    assert (spec.name, spec.num_gpu, spec.gpu_type, spec.spot, spec.taints) == ("g1", 2, "Tesla-T4", True,
                                                                                 ("dedicated",))
    assert (spec.cpu_milli, spec.memory_mib, free) == (64000, 512 * 1024, {"gpu_milli": [1000, 300]})
    with pytest.raises(UsageError, match="gpu-free-milli is .1000."):
        node_from_object(node("g2", gpus=2, gpu_free=[1000]))


def test_a_toleration_without_a_key_tolerates_every_taint():
    everything = pod("daemon")
    everything["spec"]["tolerations"] = [{"operator": "Exists"}]
    task = pod_to_task(everything)
    assert task.tolerations == ("*",) and task.tolerates(("dedicated", "gpu-maintenance"))
    assert not pod_to_task(pod("plain")).tolerates(("dedicated",))


@pytest.mark.parametrize("due, seconds", [("2026-12-02T18:00:00Z", 1796234400.0),
                                          ("2026-12-02T19:00:00+01:00", 1796234400.0),
                                          ("1796234400", 1796234400.0)])
def test_a_pods_due_time_is_read_in_rfc3339_or_epoch_seconds(due, seconds):
    task = pod_to_task(pod("train", gpus=1, spot=True, annotations={
        "shipyard.io/due": due, "shipyard.io/checkpoint-interval-s": "600"}))
    assert (task.due_s, task.checkpoint_interval_s) == (seconds, 600.0)


@pytest.mark.parametrize("due, says", [("tomorrow", "not a time"), ("2026-12-02T18:00:00", "without its zone"),
                                       ("nan", "not a time")])
def test_a_due_time_the_extender_cannot_read_is_a_usage_error_naming_the_pod(due, says):
    with pytest.raises(UsageError, match=f"pod ml/train: shipyard.io/due is .*{says}") as caught:
        pod_to_task(pod("train", gpus=1, annotations={"shipyard.io/due": due}))
    assert "RFC 3339" in caught.value.hint or "Z for UTC" in caught.value.hint


def test_a_task_with_a_deadline_round_trips_through_its_pod():
    from shipyard.scheduling.kube import pod_for_task
    from shipyard.scheduling.model import Task

    task = Task(name="ml/train", cpu_milli=4000, memory_mib=1024, num_gpu=1, spot=True, duration_s=3600,
                due_s=1796234400.0, checkpoint_interval_s=300.0, tolerations=("shipyard.io/spot",))
    rendered = pod_for_task(task, name="train", namespace="ml")
    assert rendered["metadata"]["annotations"]["shipyard.io/due"] == "2026-12-02T18:00:00Z"
    assert pod_to_task(rendered) == task
