"""Moving running tasks off lightly used nodes so that nodes empty out: the autoscaler's drain and a descheduler's.

Cluster-autoscaler scales down not only empty nodes: a node whose requested share stays below its
scale-down-utilization-threshold (0.5 by default) for scale-down-unneeded-time is drained when every
pod on it fits on the other nodes. It computes the share as a GPU node's requested GPUs over its GPUs
(its CPU and memory are not looked at; the threshold is then scale-down-gpu-utilization-threshold,
also 0.5 by default) and as the larger of the CPU and memory shares on a node without GPUs. That
is ``ScaleDown``: the autoscaler's, so it applies whatever the scheduler is.

Kubernetes' descheduler, with its HighNodeUtilization strategy (meant to pair with packing scores),
periodically evicts the pods of nodes under a threshold when they fit on the nodes above it, so the
scheduler packs them there and the emptied node is scaled down. That is ``Compaction``: something
the platform may add on its side.

A moved task starts again on its new node. One that checkpoints loses the work since its last
checkpoint. A serving task loses nothing: it is taken to run as replicas behind a
PodDisruptionBudget, so one replica restarting elsewhere leaves the service up, and its cost is the
restart, counted. Any other task (training that does not checkpoint) is marked not to be evicted
(``cluster-autoscaler.kubernetes.io/safe-to-evict: "false"``, which the descheduler honours too),
and a node that runs one is neither drained nor compacted.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from shipyard.errors import UsageError
from shipyard.scheduling.cluster import Cluster
from shipyard.scheduling.model import GPU_MILLI


@dataclasses.dataclass(frozen=True, kw_only=True)
class Movability:
    """Which tasks may be moved, and what a move costs them (see the module)."""

    checkpointing_qos: tuple[str, ...] = ("BE",)
    """QoS classes whose tasks checkpoint: moved, they redo the work since their last checkpoint."""
    checkpoint_interval_s: float = 1800.0
    serving_qos: tuple[str, ...] = ("LS",)
    """QoS classes of serving replicas: moved, they restart and lose nothing."""

    def __post_init__(self):
        if not self.checkpoint_interval_s > 0:
            raise UsageError(f"the checkpoint interval is {self.checkpoint_interval_s} s",
                             hint="give how often a checkpointing task saves its progress, in seconds, above 0")
        both = sorted(set(self.checkpointing_qos) & set(self.serving_qos))
        if both:
            raise UsageError(f"QoS {', '.join(both)} is both checkpointing and serving",
                             hint="name each QoS class in one of checkpointing_qos and serving_qos")

    def movable(self, qos: str) -> bool:
        return qos in self.checkpointing_qos or qos in self.serving_qos

    def saved_s(self, qos: str, ran_s: float) -> float:
        """Of ``ran_s`` seconds run since its start, the work a moved task of ``qos`` keeps."""
        if qos in self.serving_qos:
            return ran_s
        return ran_s // self.checkpoint_interval_s * self.checkpoint_interval_s


def _check_threshold(what: str, threshold: float) -> None:
    if not 0 < threshold <= 1:
        raise UsageError(f"the {what} threshold is {threshold}",
                         hint="give a share of a node's capacity above 0 and at most 1 (0.5 is half)")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ScaleDown:
    """Cluster-autoscaler's utilization-based scale-down; the unneeded time is the autoscaler's ``idle_s``."""

    utilization_threshold: float = 0.5

    def __post_init__(self):
        _check_threshold("scale-down utilization", self.utilization_threshold)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Compaction:
    """A descheduler's HighNodeUtilization: every ``interval_s``, empty nodes under the threshold onto those above."""

    utilization_threshold: float = 0.5
    interval_s: float = 600.0

    def __post_init__(self):
        _check_threshold("compaction utilization", self.utilization_threshold)
        if not self.interval_s > 0:
            raise UsageError(f"the compaction interval is {self.interval_s} s",
                             hint="give the seconds between two compaction passes, above 0")


def requested_share(cluster: Cluster, nodes: np.ndarray | None = None) -> np.ndarray:
    """Each node's requested share as cluster-autoscaler computes it: GPUs on a GPU node, else max(CPU, memory)."""
    index = np.arange(len(cluster)) if nodes is None else nodes
    gpus = cluster.gpu_count[index]
    gpu_share = 1 - cluster.gpu_free[index].sum(axis=1) / np.maximum(gpus * GPU_MILLI, 1)
    cpu_share = 1 - cluster.cpu_free[index] / np.maximum(cluster.cpu_capacity[index], 1)
    memory_share = 1 - cluster.memory_free[index] / np.maximum(cluster.memory_capacity[index], 1)
    return np.where(gpus > 0, gpu_share, np.maximum(cpu_share, memory_share))
