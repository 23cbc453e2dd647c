"""How a step's pod is shaped when the Airflow DAG runs one Kubernetes pod per step.

A step's resources become the container's requests and limits (whole GPUs as
``nvidia.com/gpu``, which Kubernetes only accepts as a limit equal to the request; a
share of one GPU, its models and the expected duration as the annotations the
scheduling plane's kube-scheduler extender reads). ``resources.spot`` picks the node
pool: ``required`` pods select the nodes labelled ``shipyard.io/spot`` and tolerate their
taint, ``allowed`` pods tolerate it and may land on either pool, ``never`` pods, without the
toleration, are kept off spot nodes. ``resources.priority`` is the
pod's ``priorityClassName`` (``batch-low`` may be preempted for anything above it).
The export's options override the pool and the priority for every step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from shipyard.errors import SpecError
from shipyard.pipeline.dag import StepResources
from shipyard.scheduling.kube import (DURATION_ANNOTATION, GPU_MEMORY_ANNOTATION, GPU_MILLI_ANNOTATION, GPU_RESOURCE,
                                      GPU_TYPES_ANNOTATION, SPOT, TEAM_LABEL, gpu_memory_quantity)

POOLS = ("spot", "on-demand")
BOOKKEEPING = StepResources(cpu=0.25, memory=256 * 2**20)
"""What the tasks that open and close the run ask for."""


@dataclass(frozen=True, kw_only=True)
class PodOptions:
    image: str | None = None
    namespace: str = "default"
    team: str | None = None
    pool: str | None = None
    """spot or on-demand for every step; None: each step's ``resources.spot``."""
    priority_class: str | None = None
    """For every step; None: each step's ``resources.priority``."""
    node_selector: dict[str, str] = field(default_factory=dict)
    """More node labels to require, on top of the pool's."""


def quantity_cpu(cpu: float) -> str:
    millis = max(1, math.ceil(cpu * 1000))
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def quantity_memory(size: int) -> str:
    mebibytes = math.ceil(size / 2**20)
    return f"{mebibytes // 1024}Gi" if mebibytes % 1024 == 0 else f"{mebibytes}Mi"


def container_resources(resources: StepResources) -> dict[str, dict[str, str]]:
    """Requests and limits for the step container; memory is limited to what it asks for."""
    requests = {"cpu": quantity_cpu(resources.cpu)}
    limits: dict[str, str] = {}
    if resources.memory:
        requests["memory"] = limits["memory"] = quantity_memory(resources.memory)
    if resources.gpu >= 1:
        requests[GPU_RESOURCE] = limits[GPU_RESOURCE] = str(int(resources.gpu))
    return {"requests": requests, "limits": limits}


def annotations(resources: StepResources) -> dict[str, str]:
    found = {}
    if 0 < resources.gpu < 1:
        found[GPU_MILLI_ANNOTATION] = str(round(resources.gpu * 1000))
    if resources.gpu_types:
        found[GPU_TYPES_ANNOTATION] = "|".join(resources.gpu_types)
    if resources.gpu and resources.gpu_memory:
        found[GPU_MEMORY_ANNOTATION] = gpu_memory_quantity(resources.gpu_memory)
    if resources.expected_duration:
        found[DURATION_ANNOTATION] = str(int(resources.expected_duration))
    return found


def tolerations(spot: bool, gpu: float) -> list[dict[str, str]]:
    tolerated = []
    if spot:
        tolerated.append({"key": SPOT, "operator": "Exists", "effect": "NoSchedule"})
    if gpu:
        tolerated.append({"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"})
    return tolerated


def pod_settings(resources: StepResources | None, options: PodOptions) -> dict:
    """The pod fields of one task (None: a bookkeeping task), as JSON data for the DAG file."""
    if options.pool is not None and options.pool not in POOLS:
        raise SpecError(f"'{options.pool}' is not a node pool", headline="invalid option",
                        hint=f"pools: {', '.join(POOLS)}")
    bookkeeping = resources is None
    resources = BOOKKEEPING if resources is None else resources
    if options.pool is not None:
        tolerate_spot = select_spot = options.pool == "spot"
    else:
        tolerate_spot = (resources.spot or resources.spot_only) and not bookkeeping
        select_spot = resources.spot_only and not bookkeeping
    labels = {"app.kubernetes.io/managed-by": "shipyard", **({TEAM_LABEL: options.team} if options.team else {})}
    return {"image": options.image, "namespace": options.namespace,
            "resources": container_resources(resources), "annotations": annotations(resources),
            "node_selector": {**({SPOT: "true"} if select_spot else {}), **options.node_selector},
            "tolerations": tolerations(tolerate_spot, resources.gpu),
            "priority_class": options.priority_class or resources.priority, "labels": labels}
