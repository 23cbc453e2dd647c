"""How a step's pod is shaped when the Airflow DAG runs one Kubernetes pod per step.

A step's resources become the container's requests and limits (GPUs as
``nvidia.com/gpu``, which Kubernetes only accepts as a limit equal to the request);
the node pool becomes a node selector: spot pods select the nodes labelled spot and
tolerate their taint; on-demand pods, without the toleration, are kept off them. The keys are the ones the scheduling plane's
kube-scheduler extender reads (``shipyard.io/spot``, ``shipyard.io/team``, the
``batch-low`` priority class, which it may preempt for higher priorities).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from shipyard.pipeline.dag import StepResources
from shipyard.scheduling.kube import GPU_RESOURCE, SPOT, TEAM_LABEL

POOLS = ("spot", "on-demand")
DEFAULT_PRIORITY_CLASS = "batch-low"


@dataclass(frozen=True, kw_only=True)
class PodOptions:
    image: str | None = None
    namespace: str = "default"
    team: str | None = None
    pool: str = "on-demand"
    priority_class: str = DEFAULT_PRIORITY_CLASS
    node_selector: dict[str, str] = field(default_factory=dict)
    """More node labels to require, on top of the pool's."""


def quantity_cpu(cpu: float) -> str:
    millis = max(1, math.ceil(cpu * 1000))
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def quantity_memory(size: int) -> str:
    mebibytes = math.ceil(size / 2**20)
    return f"{mebibytes // 1024}Gi" if mebibytes % 1024 == 0 else f"{mebibytes}Mi"


def container_resources(resources: StepResources | None) -> dict[str, dict[str, str]]:
    """Requests and limits for the step container; memory is limited to what it asks for."""
    if resources is None:  # the small bookkeeping tasks that open and close the run
        resources = StepResources(cpu=0.25, memory=256 * 2**20)
    requests = {"cpu": quantity_cpu(resources.cpu)}
    limits: dict[str, str] = {}
    if resources.memory:
        requests["memory"] = limits["memory"] = quantity_memory(resources.memory)
    if resources.gpu:
        requests[GPU_RESOURCE] = limits[GPU_RESOURCE] = str(resources.gpu)
    return {"requests": requests, "limits": limits}


def tolerations(pool: str, gpu: int) -> list[dict[str, str]]:
    tolerated = []
    if pool == "spot":
        tolerated.append({"key": SPOT, "operator": "Exists", "effect": "NoSchedule"})
    if gpu:
        tolerated.append({"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"})
    return tolerated


def pod_settings(resources: StepResources | None, options: PodOptions) -> dict:
    """The pod fields of one task, as JSON data for the DAG file."""
    if options.pool not in POOLS:
        from shipyard.errors import SpecError

        raise SpecError(f"'{options.pool}' is not a node pool", headline="invalid option",
                        hint=f"pools: {', '.join(POOLS)}")
    gpu = resources.gpu if resources is not None else 0
    return {"image": options.image, "namespace": options.namespace,
            "resources": container_resources(resources),
            "node_selector": {**({SPOT: "true"} if options.pool == "spot" else {}), **options.node_selector},
            "tolerations": tolerations(options.pool, gpu), "priority_class": options.priority_class,
            "labels": {"app.kubernetes.io/managed-by": "shipyard",
                       **({TEAM_LABEL: options.team} if options.team else {})}}
