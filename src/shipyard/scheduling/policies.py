"""Scoring policies: given the nodes a task fits on, how good is each (higher is better).

The baselines of the FGD paper — random, best-fit, dot-product (Tetris' alignment), GPU
packing and GPU clustering — kube-scheduler's default spreading (``least-allocated``), the
fragmentation-aware ``fgd``, and ``fgd-pack``, which packs
among the nodes FGD finds (nearly) equally good and co-locates GPU tasks that end together.
"""

from __future__ import annotations

import dataclasses
from typing import Protocol

import numpy as np

from shipyard.errors import UsageError
from shipyard.scheduling.cluster import Cluster
from shipyard.scheduling.filters import gpu_after
from shipyard.scheduling.fragmentation import FragmentationMeter, Workload
from shipyard.scheduling.model import GPU_MILLI, Task


@dataclasses.dataclass(frozen=True)
class Trial:
    """The candidate nodes' state if the task were placed on each of them."""

    nodes: np.ndarray
    cpu_free: np.ndarray
    memory_free: np.ndarray
    gpu_free: np.ndarray
    gpus: np.ndarray
    """[candidate, GPU]: the GPUs the task would take."""
    fragment: np.ndarray | None = None
    """Each candidate's expected fragment after the placement, for policies that measured it."""

    @classmethod
    def of(cls, task: Task, cluster: Cluster, nodes: np.ndarray) -> Trial:
        gpu_free, chosen = gpu_after(task, cluster.gpu_free[nodes])
        return cls(nodes, cluster.cpu_free[nodes] - task.cpu_milli, cluster.memory_free[nodes] - task.memory_mib,
                   gpu_free, chosen)


class Policy(Protocol):
    name: str

    def trial(self, task: Task, cluster: Cluster, nodes: np.ndarray) -> Trial:
        """The state of each candidate node with the task on the GPUs this policy would give it."""

    def scores(self, task: Task, cluster: Cluster, trial: Trial) -> np.ndarray:
        """One score per candidate in ``trial``; the highest is chosen (the first of equals)."""


class TightestGpu:
    """A share goes on the fullest GPU with room; whole GPUs are the first free ones."""

    def trial(self, task: Task, cluster: Cluster, nodes: np.ndarray) -> Trial:
        return Trial.of(task, cluster, nodes)


class RandomFit(TightestGpu):
    name = "random"

    def __init__(self, seed: int = 0):
        self.rng = np.random.default_rng(seed)

    def scores(self, task, cluster, trial):
        return self.rng.random(len(trial.nodes))


def _scale(capacity: np.ndarray) -> float:
    return float(capacity.max()) or 1.0


class BestFit(TightestGpu):
    """The node left with the least free resource (CPU, memory and GPU, each scaled by the largest node)."""

    name = "best-fit"

    def scores(self, task, cluster, trial):
        left = (trial.cpu_free / _scale(cluster.cpu_capacity) + trial.memory_free / _scale(cluster.memory_capacity)
                + trial.gpu_free.sum(axis=1) / (_scale(cluster.gpu_count) * GPU_MILLI))
        return -left


class LeastAllocated(TightestGpu):
    """kube-scheduler's default scoring (NodeResourcesFit, LeastAllocated): the node left with the most free
    CPU and memory, each as a share of the node's capacity, equally weighted — it spreads tasks out."""

    name = "least-allocated"

    def scores(self, task, cluster, trial):
        nodes = trial.nodes
        return (trial.cpu_free / np.maximum(cluster.cpu_capacity[nodes], 1)
                + trial.memory_free / np.maximum(cluster.memory_capacity[nodes], 1)) / 2


class DotProduct(TightestGpu):
    """Tetris' alignment: the dot product of the task's demand and the node's free resource, both per capacity."""

    name = "dot-product"

    def scores(self, task, cluster, trial):
        nodes = trial.nodes
        cpu_cap = np.maximum(cluster.cpu_capacity[nodes], 1)
        mem_cap = np.maximum(cluster.memory_capacity[nodes], 1)
        gpu_cap = np.maximum(cluster.gpu_count[nodes] * GPU_MILLI, 1)
        return (task.cpu_milli / cpu_cap * cluster.cpu_free[nodes] / cpu_cap
                + task.memory_mib / mem_cap * cluster.memory_free[nodes] / mem_cap
                + task.gpu_demand_milli / gpu_cap * cluster.gpu_free[nodes].sum(axis=1) / gpu_cap)


class GpuPacking(TightestGpu):
    """A share goes on a GPU already in use, then on a node already in use, then on an idle node; the fullest first."""

    name = "gpu-packing"

    def scores(self, task, cluster, trial):
        before = cluster.gpu_free[trial.nodes]
        shared_gpu = ((before < GPU_MILLI) & trial.gpus).any(axis=1)
        node_in_use = (before < GPU_MILLI * cluster.gpu_exists[trial.nodes]).any(axis=1)
        tier = np.where(shared_gpu, 2, np.where(node_in_use, 1, 0))
        return tier * 10.0 * GPU_MILLI * 8 - trial.gpu_free.sum(axis=1)


class GpuClustering(TightestGpu):
    """Tasks with the same GPU request together: the node hosting the most tasks of this shape, then packing."""

    name = "gpu-clustering"

    def __init__(self):
        self.packing = GpuPacking()

    def scores(self, task, cluster, trial):
        counts = cluster.shape_counts.get((task.num_gpu, task.per_gpu_milli))
        same = counts[trial.nodes] if counts is not None else np.zeros(len(trial.nodes))
        return same * 1e9 + self.packing.scores(task, cluster, trial)


class Fgd:
    """Fragmentation Gradient Descent: the node whose expected fragmentation grows least."""

    name = "fgd"

    def __init__(self, workload: Workload):
        self.workload = workload
        self._meter: FragmentationMeter | None = None
        self._cluster: Cluster | None = None
        self._seen = 0
        self._current = np.zeros(0)

    def current(self, cluster: Cluster) -> np.ndarray:
        """Every node's fragmentation now, refreshed only for the nodes that changed since the last call."""
        if self._cluster is not cluster:
            self._cluster = cluster
            self._meter = FragmentationMeter(self.workload, cluster.gpu_types)
            self._current = self._meter.measure(cluster.cpu_free, cluster.gpu_free, cluster.gpu_type)
            self._seen = len(cluster.changed_nodes)
        elif self._seen < len(cluster.changed_nodes):
            nodes = np.unique(cluster.changed_nodes[self._seen:])
            self._current[nodes] = self._meter.measure(cluster.cpu_free[nodes], cluster.gpu_free[nodes],
                                                       cluster.gpu_type[nodes])
            self._seen = len(cluster.changed_nodes)
        return self._current

    def trial(self, task: Task, cluster: Cluster, nodes: np.ndarray) -> Trial:
        """Each node with the task on the GPU that fragments it least (for a share), measured."""
        meter = self._measured(cluster)
        if not (task.num_gpu == 1 and task.per_gpu_milli < GPU_MILLI):
            trial = Trial.of(task, cluster, nodes)
            fragment = meter.measure(trial.cpu_free, trial.gpu_free, cluster.gpu_type[nodes])
            return dataclasses.replace(trial, fragment=fragment)
        free = cluster.gpu_free[nodes]
        # One candidate per distinct free amount with room on each node: GPUs with the same free are equivalent.
        same_earlier = (free[:, :, None] == free[:, None, :]) & np.tri(free.shape[1], k=-1, dtype=bool)[None]
        rows, gpus = np.nonzero((free >= task.per_gpu_milli) & ~same_earlier.any(axis=2))
        after = free[rows]
        after[np.arange(len(rows)), gpus] -= task.per_gpu_milli
        fragment = meter.measure(cluster.cpu_free[nodes][rows] - task.cpu_milli, after,
                                 cluster.gpu_type[nodes][rows])
        order = np.lexsort((fragment, rows))
        best = order[np.unique(rows[order], return_index=True)[1]]
        chosen = np.zeros_like(free, dtype=bool)
        chosen[rows[best], gpus[best]] = True
        return Trial(nodes, cluster.cpu_free[nodes] - task.cpu_milli, cluster.memory_free[nodes] - task.memory_mib,
                     after[best], chosen, fragment[best])

    def _measured(self, cluster: Cluster) -> FragmentationMeter:
        self.current(cluster)
        return self._meter

    def growth(self, task: Task, cluster: Cluster, trial: Trial) -> np.ndarray:
        before = self.current(cluster)[trial.nodes]
        after = trial.fragment
        if after is None:
            after = self._meter.measure(trial.cpu_free, trial.gpu_free, cluster.gpu_type[trial.nodes])
        return after - before

    def scores(self, task, cluster, trial):
        return -self.growth(task, cluster, trial)


class FgdPack(Fgd):
    """FGD, then — among nodes within ``tolerance`` milli-GPU of the least growth — the fullest node, and
    for a task of known duration the node whose GPU tasks end closest to when it ends.

    Nodes whose growth differs by a few milli-GPU are equally good in practice; packing among
    them keeps other nodes whole for the multi-GPU tasks to come.
    """

    name = "fgd-pack"
    tolerance = 20.0

    def scores(self, task, cluster, trial):
        growth = self.growth(task, cluster, trial)
        near_best = growth <= growth.min() + self.tolerance
        left = trial.gpu_free.sum(axis=1) / (GPU_MILLI * 8)
        secondary = -left
        if task.duration_s is not None and task.num_gpu:
            timed = cluster.timed_tasks[trial.nodes]
            mean_end = np.divide(cluster.end_time_sum[trial.nodes], timed, out=np.zeros(len(timed)),
                                 where=timed > 0)
            ends_at = cluster.now + task.duration_s
            gap = np.where(timed > 0, np.abs(mean_end - ends_at) / max(task.duration_s, 1.0), 1.0)
            secondary = secondary - np.minimum(gap, 1.0)
        return np.where(near_best, 10.0 + secondary, -growth - 1e6)


POLICIES = ("random", "least-allocated", "best-fit", "dot-product", "gpu-packing", "gpu-clustering", "fgd", "fgd-pack")
"""Every policy by name; ``fgd`` and ``fgd-pack`` need the workload's shape distribution."""


def make_policy(name: str, *, workload: Workload | None = None, seed: int = 0) -> Policy:
    if name in ("fgd", "fgd-pack"):
        if workload is None:
            raise UsageError(f"policy {name} needs the workload's task shapes",
                             hint="pass workload=Workload.of(tasks) with the tasks the cluster serves")
        return Fgd(workload) if name == "fgd" else FgdPack(workload)
    simple = {"random": lambda: RandomFit(seed), "least-allocated": LeastAllocated, "best-fit": BestFit,
              "dot-product": DotProduct, "gpu-packing": GpuPacking, "gpu-clustering": GpuClustering}
    if name not in simple:
        raise UsageError(f"no scheduling policy named {name!r}", hint=f"one of {', '.join(POLICIES)}")
    return simple[name]()
