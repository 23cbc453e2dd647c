"""A pipeline step as a Kubernetes Job, built from the official client's typed models.

Each Job's one container runs ``shipyard step run RUN_ID STEP``, so a step on Kubernetes
does exactly what it does locally (see :mod:`shipyard.pipeline.steprun`). The step's
resources become requests and limits (``nvidia.com/gpu`` for whole GPUs, the
``shipyard.io/gpu-milli`` annotation for a share of one, ``gpu_type`` as node affinity on
``nvidia.com/gpu.product``), in the scheduling plane's terms (``scheduling.kube``). A step with
``resources.spot`` tolerates the spot taint; the others keep off spot nodes. A step with a
``resources.deadline`` carries its due time (``shipyard.io/due``, from the run's start) for the
scheduler extender, and one whose slack would no longer survive a reclaim when its Job is
created keeps off spot nodes and is marked not safe to evict. Its ``resources.priority`` names
the PriorityClass, training steps at ``batch-low`` unless they say otherwise; batch classes
never preempt, so serving keeps its nodes.

Needs the ``kubernetes`` extra: ``pip install 'shipyard[kubernetes]'``.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from typing import Any

from shipyard.errors import UsageError
from shipyard.pipeline.dag import Dag, StepNode
from shipyard.scheduling.filters import spot_refusal
from shipyard.scheduling.kube import (CHECKPOINT_INTERVAL_ANNOTATION, DUE_ANNOTATION, DURATION_ANNOTATION,
                                      GPU_MEMORY_ANNOTATION, GPU_MILLI_ANNOTATION, GPU_PRODUCT_LABEL, GPU_RESOURCE,
                                      GPU_TYPES_ANNOTATION, SPOT, due_text, gpu_memory_quantity)
from shipyard.scheduling.model import task_for_step
from shipyard.spec.models import KubernetesSpec
from shipyard.spec.scheduling_terms import BATCH, BATCH_LOW, GPU_MILLI, PRIORITY_CLASSES, SERVING

IMAGE_ENV = "SHIPYARD_K8S_IMAGE"
TRAINING_KINDS = ("sweep", "train")
HOME_MOUNT = "/shipyard"
FINISHED_JOB_TTL_S = 24 * 3600
SAFE_TO_EVICT_ANNOTATION = "cluster-autoscaler.kubernetes.io/safe-to-evict"
_NAME_LIMIT = 63


@dataclass(frozen=True, kw_only=True)
class JobTarget:
    """Where and as what the Jobs of one run are created."""

    run_id: str
    pipeline: str
    image: str
    config: KubernetesSpec
    started_s: float | None = None
    """When the run started (seconds since the epoch): the steps' deadlines count from it."""

    @classmethod
    def of(cls, *, run_id: str, pipeline: str, config: KubernetesSpec | None,
           image: str | None = None, started_s: float | None = None) -> JobTarget:
        return cls(run_id=run_id, pipeline=pipeline, image=checked_image(config, image),
                   config=config or KubernetesSpec(), started_s=started_s)

    def due_s(self, node: StepNode) -> float | None:
        """When ``node`` is to be done, or None: no deadline, or no start to count it from."""
        if node.resources.deadline is None or self.started_s is None:
            return None
        return self.started_s + node.resources.deadline

    def spot_fallback(self, node: StepNode, now_s: float | None = None) -> str | None:
        """Why ``node``, which may use spot, is to run on-demand from ``now_s`` on (its deadline); None: it need not."""
        return spot_refusal(task_for_step(node.name, node.resources, run_started_s=self.started_s), now_s)


def checked_image(config: KubernetesSpec | None, image: str | None = None) -> str:
    """The image from ``image``, the spec's ``kubernetes.image`` or ``SHIPYARD_K8S_IMAGE``."""
    chosen = image or (config.image if config else None) or os.environ.get(IMAGE_ENV)
    if not chosen:
        raise UsageError("no container image for the steps' Jobs",
                         hint=f"set kubernetes.image in the spec, or {IMAGE_ENV}, to an image with shipyard and "
                              "your code installed")
    return chosen


def kubernetes_client():
    try:
        from kubernetes import client
    except ImportError:
        raise UsageError("the Kubernetes executor needs the official kubernetes client",
                         hint="pip install 'shipyard[kubernetes]'") from None
    return client


def job_name(run_id: str, step: str, attempt: int | None) -> str:
    """A DNS-1123 name, unique per run, step and attempt, at most 63 characters."""
    slug = re.sub(r"[^a-z0-9-]+", "-", step.lower()).strip("-") or "step"
    suffix = f"-{attempt}" if attempt is not None else ""
    name = f"shipyard-{run_id}-{slug}{suffix}"
    if len(name) > _NAME_LIMIT or slug != step:  # distinct steps may share a slug: keep them apart
        digest = hashlib.sha256(step.encode()).hexdigest()[:6]
        room = _NAME_LIMIT - len(f"shipyard-{run_id}--{digest}{suffix}")
        name = f"shipyard-{run_id}-{slug[:room].strip('-')}-{digest}{suffix}"
    return name


def labels(target: JobTarget, step: str | None = None) -> dict[str, str]:
    found = {"app.kubernetes.io/name": "shipyard", "app.kubernetes.io/component": "pipeline-step",
             "shipyard.io/run": target.run_id, "shipyard.io/pipeline": target.pipeline[:_NAME_LIMIT]}
    if step is not None:
        found["shipyard.io/step"] = step[:_NAME_LIMIT]
    return found


def whole_gpus(node: StepNode) -> int:
    """GPUs the step asks for as ``nvidia.com/gpu``; a share of one GPU asks through an annotation instead."""
    return int(node.resources.gpu) if node.resources.gpu >= 1 else 0


def resource_requirements(node: StepNode):
    """Requests and limits: CPU and memory as requested (limits = requests for memory), whole GPUs."""
    client = kubernetes_client()
    requests = {"cpu": f"{max(1, round(node.resources.cpu * 1000))}m"}
    limits: dict[str, str] = {}
    if node.resources.memory:
        requests["memory"] = str(node.resources.memory)
        limits["memory"] = str(node.resources.memory)
    if whole_gpus(node):
        requests[GPU_RESOURCE] = str(whole_gpus(node))
        limits[GPU_RESOURCE] = str(whole_gpus(node))
    return client.V1ResourceRequirements(requests=requests, limits=limits or None)


def annotations(node: StepNode, *, due_s: float | None = None, pinned: bool = False) -> dict[str, str] | None:
    """A share of one GPU, the GPU models allowed, the memory each GPU needs, the expected duration, the due time
    and the checkpoint interval, as the scheduler extender reads them; ``pinned``: not safe to evict."""
    found = {}
    if 0 < node.resources.gpu < 1:
        found[GPU_MILLI_ANNOTATION] = str(round(node.resources.gpu * GPU_MILLI))
    if node.resources.gpu_types:
        found[GPU_TYPES_ANNOTATION] = "|".join(node.resources.gpu_types)
    if node.resources.gpu and node.resources.gpu_memory:
        found[GPU_MEMORY_ANNOTATION] = gpu_memory_quantity(node.resources.gpu_memory)
    if node.resources.expected_duration:
        found[DURATION_ANNOTATION] = str(int(node.resources.expected_duration))
    if due_s is not None:
        found[DUE_ANNOTATION] = due_text(due_s)
    if node.resources.checkpoint_interval:
        found[CHECKPOINT_INTERVAL_ANNOTATION] = f"{node.resources.checkpoint_interval:g}"
    if pinned:
        found[SAFE_TO_EVICT_ANNOTATION] = "false"
    return found or None


def priority_of(node: StepNode) -> str:
    """The step's priority class; a training step left at the default runs at ``batch-low``."""
    if node.kind in TRAINING_KINDS and node.resources.priority == BATCH:
        return BATCH_LOW
    return node.resources.priority


def placement(node: StepNode, *, on_demand: bool = False):
    """Affinity and tolerations: spot steps tolerate the spot taint, the others (and ``on_demand``) keep off spot
    nodes; GPU steps tolerate the GPU taint and go to the GPU models they allow."""
    client = kubernetes_client()
    terms = []
    tolerations = []
    if (node.resources.spot and not on_demand) or node.resources.spot_only:
        tolerations.append(client.V1Toleration(key=SPOT, operator="Exists", effect="NoSchedule"))
        if node.resources.spot_only:
            terms.append(client.V1NodeSelectorRequirement(key=SPOT, operator="In", values=["true"]))
    else:
        terms.append(client.V1NodeSelectorRequirement(key=SPOT, operator="NotIn", values=["true"]))
    if node.resources.gpu:
        tolerations.append(client.V1Toleration(key=GPU_RESOURCE, operator="Exists", effect="NoSchedule"))
    if node.resources.gpu_types:
        terms.append(client.V1NodeSelectorRequirement(key=GPU_PRODUCT_LABEL, operator="In",
                                                      values=list(node.resources.gpu_types)))
    affinity = client.V1Affinity(node_affinity=client.V1NodeAffinity(
        required_during_scheduling_ignored_during_execution=client.V1NodeSelector(
            node_selector_terms=[client.V1NodeSelectorTerm(match_expressions=terms)]))) if terms else None
    return affinity, tolerations


def step_pod(node: StepNode, *, image: str, config: KubernetesSpec, labels: dict[str, str],
             command: list[str] | None = None, container: str = "step", env: dict[str, str] | None = None,
             priority_class: str | None = None, node_selector: dict[str, str] | None = None,
             due_s: float | None = None, on_demand: bool = False):
    """The pod that runs ``node``, wherever it is created from: a Job here, Airflow's KubernetesPodOperator
    (:mod:`airflow_pod`). ``env`` adds to (and overrides) the step's environment; ``priority_class`` overrides
    the step's; ``node_selector`` adds node labels to require; ``due_s`` is when the step is to be done;
    ``on_demand`` keeps a step that may use spot off spot nodes, and not to be evicted."""
    client = kubernetes_client()
    affinity, tolerations = placement(node, on_demand=on_demand)
    variables = {"SHIPYARD_HOME": HOME_MOUNT, "PYTHONUNBUFFERED": "1", **(env or {})}
    step_container = client.V1Container(
        name=container, image=image, command=command, resources=resource_requirements(node),
        env=[client.V1EnvVar(name=name, value=value) for name, value in variables.items()],
        env_from=[client.V1EnvFromSource(secret_ref=client.V1SecretEnvSource(name=config.env_secret))],
        volume_mounts=[client.V1VolumeMount(name="shipyard-home", mount_path=HOME_MOUNT)])
    pod = client.V1PodSpec(
        restart_policy="Never", containers=[step_container], affinity=affinity, tolerations=tolerations or None,
        priority_class_name=priority_class or priority_of(node), service_account_name=config.service_account,
        node_selector=node_selector or None,
        volumes=[client.V1Volume(name="shipyard-home", persistent_volume_claim=(
            client.V1PersistentVolumeClaimVolumeSource(claim_name=config.home_claim)))])
    metadata = client.V1ObjectMeta(labels=labels, annotations=annotations(node, due_s=due_s, pinned=on_demand))
    return client.V1PodTemplateSpec(metadata=metadata, spec=pod)


def step_job(target: JobTarget, node: StepNode, *, attempt: int | None = None, on_demand: bool = False):
    """The Job that runs ``node``: with ``attempt``, one attempt the caller retries (``--once``); without,
    the step's own retries inside the pod. ``on_demand``: off spot nodes (see ``JobTarget.spot_fallback``)."""
    client = kubernetes_client()
    command = ["shipyard", "step", "run", target.run_id, node.name]
    if attempt is not None:
        command.append("--once")
    step_labels = labels(target, node.name)
    template = step_pod(node, image=target.image, config=target.config, labels=step_labels, command=command,
                        due_s=target.due_s(node), on_demand=on_demand)
    spec = client.V1JobSpec(backoff_limit=0, ttl_seconds_after_finished=FINISHED_JOB_TTL_S,
                            active_deadline_seconds=_deadline(node, attempt), template=template)
    metadata = client.V1ObjectMeta(name=job_name(target.run_id, node.name, attempt),
                                   namespace=target.config.namespace, labels=step_labels)
    return client.V1Job(api_version="batch/v1", kind="Job", metadata=metadata, spec=spec)


def _deadline(node: StepNode, attempt: int | None) -> int | None:
    """The step's timeout for one attempt; for all its attempts in one pod, that many timeouts."""
    if node.timeout is None:
        return None
    attempts = 1 if attempt is not None else node.retries + 1
    return max(1, int(node.timeout * attempts + 0.999))


def priority_class(name: str):
    """A priority class of the scheduling plane; the batch ones never preempt a running pod to make room."""
    client = kubernetes_client()
    return client.V1PriorityClass(
        api_version="scheduling.k8s.io/v1", kind="PriorityClass", metadata=client.V1ObjectMeta(name=name),
        value=PRIORITY_CLASSES[name], global_default=False,
        preemption_policy="PreemptLowerPriority" if name == SERVING else "Never",
        description=f"shipyard {name} pods" + ("" if name == SERVING else ": scheduled after serving, never "
                                                                          "preempting it"))


def as_dict(model: Any) -> dict[str, Any]:
    """A typed model as the plain mapping ``kubectl apply`` reads."""
    from kubernetes.client import ApiClient

    return ApiClient().sanitize_for_serialization(model)


def render_run(target: JobTarget, dag: Dag) -> list[tuple[str, dict[str, Any]]]:
    """(file name, manifest) for the PriorityClasses the steps use and each step's Job, in the order they run."""
    classes = sorted({priority_of(node) for node in dag.nodes}, key=lambda name: -PRIORITY_CLASSES[name])
    rendered = [(f"00-priorityclass-{name}.yaml", as_dict(priority_class(name))) for name in classes]
    for number, name in enumerate(dag.topological_order(), start=1):
        node = dag.node(name)
        job = step_job(target, node, on_demand=target.spot_fallback(node) is not None)
        rendered.append((f"{number:02d}-{name}.yaml", as_dict(job)))
    return rendered
