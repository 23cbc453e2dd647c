"""``place(task, cluster) -> Placement | Queued``: filter the nodes, score those left, take the best."""

from __future__ import annotations

import dataclasses

import numpy as np

from shipyard.scheduling.cluster import Allocation, Cluster
from shipyard.scheduling.filters import feasible, spot_refusal
from shipyard.scheduling.gpu_memory import none_big_enough
from shipyard.scheduling.model import Task
from shipyard.scheduling.policies import Policy
from shipyard.scheduling.quotas import Quotas


@dataclasses.dataclass(frozen=True)
class Placement:
    node: str
    node_index: int
    gpus: tuple[int, ...]


@dataclasses.dataclass(frozen=True)
class Queued:
    reason: str


def place(task: Task, cluster: Cluster, policy: Policy, *, quotas: Quotas | None = None,
          among: np.ndarray | None = None, now_s: float | None = None) -> Placement | Queued:
    """Where the policy would put ``task`` at ``now_s`` (default: now); changes nothing (``commit`` applies it).

    ``among``, a boolean mask over the nodes, limits the choice to those nodes (the ones that are up, say).
    A task whose deadline no longer allows spot is placed on on-demand nodes only.
    """
    if quotas is not None and (reason := quotas.exceeded(task, cluster)):
        return Queued(reason)
    mask = feasible(task, cluster, now_s=now_s)
    nodes = np.flatnonzero(mask if among is None else mask & among)
    if not len(nodes):
        gpu_nodes = cluster.gpu_count > 0
        if task.num_gpu and (reason := none_big_enough(task.gpu_memory_mib, cluster.gpu_memory_mib[gpu_nodes])):
            return Queued(reason)
        if task.spot and (refusal := spot_refusal(task, now_s)):
            return Queued(f"no on-demand node has room for the task, and its deadline keeps it off spot ("
                          f"{refusal.removeprefix('spot node: ')})")
        return Queued("no node has room for the task")
    trial = policy.trial(task, cluster, nodes)
    best = int(np.argmax(policy.scores(task, cluster, trial)))
    node = int(nodes[best])
    return Placement(cluster.nodes[node].name, node, tuple(int(g) for g in np.flatnonzero(trial.gpus[best])))


def commit(task: Task, cluster: Cluster, placement: Placement) -> Allocation:
    return cluster.allocate(task, placement.node_index, placement.gpus)
