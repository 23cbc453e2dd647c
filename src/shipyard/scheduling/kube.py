"""Kubernetes Pods and Nodes (their JSON, as the kube-scheduler sends them) as tasks and nodes.

A pod asks for whole GPUs with the ``nvidia.com/gpu`` resource, or for a share of one GPU
with the annotation ``shipyard.io/gpu-milli`` (1–1000). ``shipyard.io/gpu-types`` (``T4|A10``)
restricts the GPU models, ``shipyard.io/gpu-memory`` (``16Gi``) the memory each GPU must have,
``spec.priorityClassName`` names a priority class (serving,
batch-high, batch, batch-low), ``shipyard.io/team`` (label) the team, and
``shipyard.io/expected-duration-s`` (annotation) the expected run time. Tolerating the
``shipyard.io/spot`` taint lets a pod run on spot nodes and marks it preemptible; with
``shipyard.io/due`` (when it is to be done: RFC 3339, or seconds since the epoch) and the
expected run time, such a pod is kept off spot once one more reclaim could make it late,
``shipyard.io/checkpoint-interval-s`` saying how much work a reclaim can cost it (absent: all).

A node's GPU model is its ``nvidia.com/gpu.product`` label and its memory per GPU the
``nvidia.com/gpu.memory`` label (MiB, as GPU feature discovery writes it; else the model's
figure in ``scheduling.gpu_memory``); a node labelled or tainted
``shipyard.io/spot`` is spot capacity. What is in use on a node comes from the annotations
``shipyard.io/gpu-free-milli`` (per GPU, ``1000,470,0``), ``shipyard.io/cpu-free-milli`` and
``shipyard.io/memory-free-mib``, which a GPU-sharing device plugin keeps current; without them
the node's allocatable is taken as free.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from shipyard.errors import ShipyardError, UsageError
from shipyard.scheduling.model import BATCH, GPU_MILLI, PRIORITY_CLASSES, Node, Task

GPU_RESOURCE = "nvidia.com/gpu"
GPU_PRODUCT_LABEL = "nvidia.com/gpu.product"
SPOT = "shipyard.io/spot"
GPU_MILLI_ANNOTATION = "shipyard.io/gpu-milli"
GPU_TYPES_ANNOTATION = "shipyard.io/gpu-types"
GPU_MEMORY_ANNOTATION = "shipyard.io/gpu-memory"
GPU_MEMORY_LABEL = "nvidia.com/gpu.memory"
TEAM_LABEL = "shipyard.io/team"
DURATION_ANNOTATION = "shipyard.io/expected-duration-s"
DUE_ANNOTATION = "shipyard.io/due"
CHECKPOINT_INTERVAL_ANNOTATION = "shipyard.io/checkpoint-interval-s"
GPU_FREE_ANNOTATION = "shipyard.io/gpu-free-milli"
CPU_FREE_ANNOTATION = "shipyard.io/cpu-free-milli"
MEMORY_FREE_ANNOTATION = "shipyard.io/memory-free-mib"

_SUFFIXES = {"m": Decimal("0.001"), "": Decimal(1), "k": Decimal(10) ** 3, "M": Decimal(10) ** 6,
             "G": Decimal(10) ** 9, "T": Decimal(10) ** 12, "P": Decimal(10) ** 15, "E": Decimal(10) ** 18,
             "Ki": Decimal(2) ** 10, "Mi": Decimal(2) ** 20, "Gi": Decimal(2) ** 30, "Ti": Decimal(2) ** 40,
             "Pi": Decimal(2) ** 50, "Ei": Decimal(2) ** 60}
_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")


def quantity(value: Any, what: str) -> Decimal:
    """A Kubernetes resource quantity (``500m``, ``2``, ``16Gi``) as a number."""
    match = _QUANTITY.match(str(value).strip())
    if not match:
        raise UsageError(f"{what} is {value!r}, not a Kubernetes quantity", hint="write it like 500m, 2, 16Gi")
    try:
        number = Decimal(match.group(1))
    except InvalidOperation:
        raise UsageError(f"{what} is {value!r}, not a Kubernetes quantity",
                         hint="write it like 500m, 2, 16Gi") from None
    return number * _SUFFIXES[match.group(2) or ""]


def gpu_memory_quantity(size_bytes: int) -> str:
    """GPU memory per GPU as the ``shipyard.io/gpu-memory`` annotation writes it: whole MiB, rounded up."""
    return f"{math.ceil(size_bytes / 2 ** 20)}Mi"


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise UsageError(f"{what} is not an object", hint="send pods and nodes as the Kubernetes API writes them")
    return value


def pod_key(pod: Mapping[str, Any]) -> str:
    meta = _mapping(pod.get("metadata"), "pod metadata")
    return f"{meta.get('namespace') or 'default'}/{meta.get('name') or meta.get('uid') or '?'}"


def _requests(pod: Mapping[str, Any]) -> dict[str, Decimal]:
    spec = _mapping(pod.get("spec"), "pod spec")
    totals: dict[str, Decimal] = {}
    for i, container in enumerate(spec.get("containers") or []):
        resources = _mapping(_mapping(container, f"container {i}").get("resources"), f"container {i} resources")
        asked = {**_mapping(resources.get("limits"), "limits"), **_mapping(resources.get("requests"), "requests")}
        for name, value in asked.items():
            totals[name] = totals.get(name, Decimal(0)) + quantity(value, f"container {i} {name}")
    return totals


def _tolerated_keys(spec: Mapping[str, Any]) -> tuple[str, ...]:
    keys = []
    for toleration in spec.get("tolerations") or []:
        toleration = _mapping(toleration, "toleration")
        if toleration.get("effect") not in (None, "", "NoSchedule", "NoExecute"):
            continue
        if toleration.get("key"):
            keys.append(str(toleration["key"]))
        elif toleration.get("operator") == "Exists":  # no key: tolerates every taint
            keys.append("*")
    return tuple(sorted(set(keys)))


def pod_to_task(pod: Any) -> Task:
    pod = _mapping(pod, "the pod")
    meta = _mapping(pod.get("metadata"), "pod metadata")
    spec = _mapping(pod.get("spec"), "pod spec")
    annotations = _mapping(meta.get("annotations"), "pod annotations")
    labels = _mapping(meta.get("labels"), "pod labels")
    name = pod_key(pod)
    requests = _requests(pod)
    num_gpu = int(requests.get(GPU_RESOURCE, 0))
    gpu_milli = GPU_MILLI if num_gpu else 0
    if GPU_MILLI_ANNOTATION in annotations:
        gpu_milli = int(quantity(annotations[GPU_MILLI_ANNOTATION], f"pod {name} {GPU_MILLI_ANNOTATION}"))
        num_gpu = max(num_gpu, 1)
    types = tuple(t.strip() for t in re.split(r"[|,]", str(annotations.get(GPU_TYPES_ANNOTATION, ""))) if t.strip())
    priority_class = spec.get("priorityClassName") or BATCH
    if priority_class not in PRIORITY_CLASSES:
        priority_class = BATCH
    tolerations = _tolerated_keys(spec)
    duration = annotations.get(DURATION_ANNOTATION)
    gpu_memory = annotations.get(GPU_MEMORY_ANNOTATION)
    interval = annotations.get(CHECKPOINT_INTERVAL_ANNOTATION)
    try:
        gpu_memory_mib = math.ceil(quantity(gpu_memory, f"pod {name} {GPU_MEMORY_ANNOTATION}") / 2 ** 20) \
            if gpu_memory else 0
        return Task(name=name, cpu_milli=int(requests.get("cpu", 0) * 1000),
                    memory_mib=int(requests.get("memory", 0) / 2 ** 20), num_gpu=num_gpu, gpu_milli=gpu_milli,
                    gpu_types=types, gpu_memory_mib=gpu_memory_mib if num_gpu else 0,
                    team=str(labels.get(TEAM_LABEL, "")), priority_class=priority_class,
                    spot=SPOT in tolerations, tolerations=tolerations, spot_only=_spot_only(spec),
                    duration_s=float(quantity(duration, f"pod {name} {DURATION_ANNOTATION}")) if duration else None,
                    due_s=_due(annotations[DUE_ANNOTATION], name) if annotations.get(DUE_ANNOTATION) else None,
                    checkpoint_interval_s=float(quantity(interval, f"pod {name} {CHECKPOINT_INTERVAL_ANNOTATION}"))
                    if interval else None)
    except ShipyardError as exc:
        raise UsageError(f"pod {name}: {exc.message}", hint=exc.hint) from None


def due_text(due_s: float) -> str:
    """A due time as the ``shipyard.io/due`` annotation writes it: RFC 3339 in UTC, to the second."""
    return datetime.fromtimestamp(round(due_s), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _due(value: Any, pod: str) -> float:
    text = str(value).strip()
    not_a_time = UsageError(f"pod {pod}: {DUE_ANNOTATION} is {text!r}, not a time",
                            hint="write it in RFC 3339 (2026-12-02T18:00:00Z) or as seconds since the epoch")
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(seconds):
            raise not_a_time
        return seconds
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise not_a_time from None
    if moment.tzinfo is None:
        raise UsageError(f"pod {pod}: {DUE_ANNOTATION} is {text!r}, a time without its zone",
                         hint="end it with Z for UTC, or an offset such as +01:00") from None
    return moment.timestamp()


def _spot_only(spec: dict[str, Any]) -> bool:
    """The pod selects spot nodes, by ``nodeSelector`` or a required node-affinity term."""
    def field(value: Any, key: str) -> Any:
        return value.get(key) if isinstance(value, dict) else None

    if str(field(spec, "nodeSelector") and field(spec["nodeSelector"], SPOT) or "").lower() == "true":
        return True
    required = field(field(field(spec, "affinity"), "nodeAffinity"), "requiredDuringSchedulingIgnoredDuringExecution")
    terms = field(required, "nodeSelectorTerms")
    return any(field(expression, "key") == SPOT and field(expression, "operator") == "In"
               and field(expression, "values") == ["true"]
               for term in (terms if isinstance(terms, list) else [])
               for expression in (field(term, "matchExpressions") or []) if isinstance(expression, dict))


def pod_for_task(task: Task, *, name: str, namespace: str = "default") -> dict[str, Any]:
    """The scheduling-relevant parts of a pod that runs ``task``: what :func:`pod_to_task` reads back as it."""
    requests: dict[str, str] = {"cpu": f"{task.cpu_milli}m", "memory": f"{task.memory_mib}Mi"}
    annotations: dict[str, str] = {}
    if task.num_gpu and task.per_gpu_milli < GPU_MILLI:
        annotations[GPU_MILLI_ANNOTATION] = str(task.gpu_milli)
    elif task.num_gpu:
        requests[GPU_RESOURCE] = str(task.num_gpu)
    if task.gpu_types:
        annotations[GPU_TYPES_ANNOTATION] = "|".join(task.gpu_types)
    if task.gpu_memory_mib:
        annotations[GPU_MEMORY_ANNOTATION] = gpu_memory_quantity(task.gpu_memory_mib * 2 ** 20)
    if task.duration_s is not None:
        annotations[DURATION_ANNOTATION] = f"{task.duration_s:g}"
    if task.due_s is not None:
        annotations[DUE_ANNOTATION] = due_text(task.due_s)
    if task.checkpoint_interval_s is not None:
        annotations[CHECKPOINT_INTERVAL_ANNOTATION] = f"{task.checkpoint_interval_s:g}"
    tolerations = [{"key": key, "operator": "Exists", "effect": "NoSchedule"}
                   for key in sorted({*task.tolerations, *((SPOT,) if task.spot else ())}) if key != "*"]
    if "*" in task.tolerations:
        tolerations.append({"operator": "Exists"})
    return {"metadata": {"name": name, "namespace": namespace, "annotations": annotations,
                         "labels": {TEAM_LABEL: task.team} if task.team else {}},
            "spec": {"priorityClassName": task.priority_class, "tolerations": tolerations,
                     **({"nodeSelector": {SPOT: "true"}} if task.spot_only else {}),
                     "containers": [{"name": "step", "resources": {"requests": requests}}]}}


def node_name(node: Any) -> str:
    name = _mapping(_mapping(node, "a node").get("metadata"), "node metadata").get("name")
    if not name:
        raise UsageError("a node has no metadata.name", hint="send nodes as the Kubernetes API writes them")
    return str(name)


def node_from_object(node: Any) -> tuple[Node, dict[str, Any]]:
    """The node, and what is free on it now (``cpu_milli``, ``memory_mib``, ``gpu_milli`` per GPU) when annotated."""
    name = node_name(node)
    meta = _mapping(node["metadata"], "node metadata")
    labels = _mapping(meta.get("labels"), "node labels")
    annotations = _mapping(meta.get("annotations"), "node annotations")
    status = _mapping(node.get("status"), "node status")
    allocatable = _mapping(status.get("allocatable") or status.get("capacity"), "node allocatable")
    taints = [_mapping(t, "taint") for t in _mapping(node.get("spec"), "node spec").get("taints") or []]
    taint_keys = tuple(sorted({str(t.get("key")) for t in taints if t.get("effect") in ("NoSchedule", "NoExecute")}))
    spot = str(labels.get(SPOT, "")).lower() == "true" or SPOT in taint_keys
    try:
        spec = Node(name=name, cpu_milli=int(quantity(allocatable.get("cpu", 0), f"node {name} cpu") * 1000),
                    memory_mib=int(quantity(allocatable.get("memory", 0), f"node {name} memory") / 2 ** 20),
                    num_gpu=int(quantity(allocatable.get(GPU_RESOURCE, 0), f"node {name} {GPU_RESOURCE}")),
                    gpu_type=str(labels.get(GPU_PRODUCT_LABEL, "")), spot=spot,
                    gpu_memory_mib=int(quantity(labels.get(GPU_MEMORY_LABEL, 0), f"node {name} {GPU_MEMORY_LABEL}")),
                    taints=tuple(k for k in taint_keys if k != SPOT))
    except ShipyardError as exc:
        raise UsageError(f"node {name}: {exc.message}", hint=exc.hint) from None
    free: dict[str, Any] = {}
    if CPU_FREE_ANNOTATION in annotations:
        free["cpu_milli"] = int(quantity(annotations[CPU_FREE_ANNOTATION], f"node {name} {CPU_FREE_ANNOTATION}"))
    if MEMORY_FREE_ANNOTATION in annotations:
        free["memory_mib"] = int(quantity(annotations[MEMORY_FREE_ANNOTATION],
                                          f"node {name} {MEMORY_FREE_ANNOTATION}"))
    if GPU_FREE_ANNOTATION in annotations:
        values = [v for v in str(annotations[GPU_FREE_ANNOTATION]).split(",") if v.strip()]
        gpus = [int(quantity(v, f"node {name} {GPU_FREE_ANNOTATION}")) for v in values]
        if len(gpus) != spec.num_gpu or any(not 0 <= g <= GPU_MILLI for g in gpus):
            raise UsageError(f"node {name}: {GPU_FREE_ANNOTATION} is {annotations[GPU_FREE_ANNOTATION]!r}",
                             hint=f"one value from 0 to {GPU_MILLI} per GPU ({spec.num_gpu} GPUs), comma-separated")
        free["gpu_milli"] = gpus
    return spec, free
