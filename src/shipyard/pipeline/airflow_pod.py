"""A step's pod when the Airflow DAG runs one Kubernetes pod per step (KubernetesPodOperator).

The pod is the one the Kubernetes executor's Jobs run (:func:`k8s_jobs.step_pod`): the same
requests and limits, GPU request or share, tolerations, node affinity, priority class,
environment (the spec's ``kubernetes.env_secret``, ``SHIPYARD_HOME`` on ``kubernetes.home_claim``),
service account and image (``--image``, the spec's ``kubernetes.image`` or ``SHIPYARD_K8S_IMAGE``).
It is written into the DAG file as the operator's ``pod_template_dict``, with the container
named ``base`` as the operator expects. The export's options override the node pool and the
priority class for every step, and add node labels to require.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from shipyard.errors import SpecError
from shipyard.pipeline.dag import StepNode, StepResources
from shipyard.scheduling.kube import TEAM_LABEL
from shipyard.spec.models import KubernetesSpec

POOLS = ("spot", "on-demand")
BOOKKEEPING = StepNode(name="bookkeeping", kind="bookkeeping", impl="",
                       resources=StepResources(cpu=0.25, memory=256 * 2**20))
"""What the tasks that open and close the run ask for."""
CONTAINER = "base"
"""The container name KubernetesPodOperator merges its image, command and arguments into."""


@dataclass(frozen=True, kw_only=True)
class PodOptions:
    image: str | None = None
    """Default: the spec's ``kubernetes.image``, then ``SHIPYARD_K8S_IMAGE``."""
    namespace: str | None = None
    """Default: the spec's ``kubernetes.namespace``."""
    team: str | None = None
    pool: str | None = None
    """spot or on-demand for every step; None: each step's ``resources.spot``."""
    priority_class: str | None = None
    """For every step; None: each step's priority class, as the Kubernetes executor gives it."""
    node_selector: dict[str, str] = field(default_factory=dict)
    """More node labels to require, on top of the pool's."""


def check_pool(options: PodOptions) -> None:
    if options.pool is not None and options.pool not in POOLS:
        raise SpecError(f"'{options.pool}' is not a node pool", headline="invalid option",
                        hint=f"pools: {', '.join(POOLS)}")


def pod_settings(node: StepNode | None, options: PodOptions, *, image: str, config: KubernetesSpec | None,
                 pipeline: str, env: dict[str, str]) -> dict:
    """The pod of one task (None: a bookkeeping task) as JSON data for the DAG file: its namespace, image and the
    pod template."""
    from shipyard.pipeline.k8s_jobs import as_dict, kubernetes_client, step_pod

    check_pool(options)
    config = config or KubernetesSpec()
    bookkeeping = node is None
    node = BOOKKEEPING if node is None else node
    if options.pool is not None:
        on_spot = options.pool == "spot"
        node = replace(node, resources=replace(node.resources, spot=on_spot, spot_only=on_spot))
    labels = {"app.kubernetes.io/name": "shipyard", "app.kubernetes.io/component": "pipeline-step",
              "app.kubernetes.io/managed-by": "shipyard", "shipyard.io/pipeline": pipeline[:63],
              **({} if bookkeeping else {"shipyard.io/step": node.name[:63]}),
              **({TEAM_LABEL: options.team} if options.team else {})}
    template = step_pod(node, image=image, config=config, labels=labels, container=CONTAINER, env=env,
                        priority_class=options.priority_class, node_selector=dict(options.node_selector))
    client = kubernetes_client()
    pod = client.V1Pod(api_version="v1", kind="Pod", metadata=template.metadata, spec=template.spec)
    settings = {"namespace": options.namespace or config.namespace, "image": image, "template": as_dict(pod)}
    if not bookkeeping and node.resources.deadline:
        settings["deadline_s"] = node.resources.deadline  # the DAG run's start is known only when it runs
    return settings
