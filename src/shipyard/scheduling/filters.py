"""Which nodes can take a task: capacity, GPU type and memory, taints and spot — every node at once."""

from __future__ import annotations

import time

import numpy as np

from shipyard.scheduling.cluster import Cluster
from shipyard.scheduling.deadlines import SpotFallback
from shipyard.scheduling.gpu_memory import enough_memory, shortfall
from shipyard.scheduling.model import GPU_MILLI, Task


ON_DEMAND_WHEN_LATE = SpotFallback()
"""The rule that keeps a task with a deadline off spot once one more reclaim could make it late."""


def spot_refusal(task: Task, now_s: float | None = None) -> str | None:
    """Why a task that tolerates spot is kept off spot nodes now (its deadline), or None."""
    if task.due_s is None:
        return None
    return ON_DEMAND_WHEN_LATE.refusal(task, time.time() if now_s is None else now_s)


def feasible(task: Task, cluster: Cluster, *, now_s: float | None = None) -> np.ndarray:
    """Boolean mask of the nodes where ``task`` fits at ``now_s`` (default: now, by the wall clock)."""
    mask = (cluster.cpu_free >= task.cpu_milli) & (cluster.memory_free >= task.memory_mib)
    mask &= gpu_fits(task, cluster.gpu_free)
    if task.num_gpu and task.gpu_types:
        mask &= allowed_types(task, cluster)
    if task.num_gpu and task.gpu_memory_mib:
        mask &= enough_memory(task.gpu_memory_mib, cluster.gpu_memory_mib)
    if task.spot_only:
        mask &= cluster.spot
    elif not task.spot or spot_refusal(task, now_s):
        mask &= ~cluster.spot
    if cluster.tainted.any():
        mask &= tolerated(task, cluster)
    return mask


def gpu_fits(task: Task, gpu_free: np.ndarray) -> np.ndarray:
    """Rows of ``gpu_free`` (per-GPU free milli) with room for the task's GPUs."""
    if task.num_gpu == 0:
        return np.ones(gpu_free.shape[0], dtype=bool)
    if task.num_gpu == 1:
        return gpu_free.max(axis=1) >= task.per_gpu_milli
    return (gpu_free == GPU_MILLI).sum(axis=1) >= task.num_gpu


def allowed_types(task: Task, cluster: Cluster) -> np.ndarray:
    allowed = np.array([name in task.gpu_types for name in cluster.gpu_types], dtype=bool)
    return allowed[cluster.gpu_type]


def tolerated(task: Task, cluster: Cluster) -> np.ndarray:
    return np.array([task.tolerates(node.taints) for node in cluster.nodes], dtype=bool)


def why_not(task: Task, cluster: Cluster, node: int, *, now_s: float | None = None) -> str | None:
    """The first reason ``task`` cannot go on ``node`` at ``now_s``, or None when it fits."""
    spec = cluster.nodes[node]
    if not task.spot and spec.spot:
        return "spot node: the task does not tolerate spot"
    if spec.spot and not task.spot_only and (refusal := spot_refusal(task, now_s)):
        return refusal
    if task.spot_only and not spec.spot:
        return "on-demand node: the task runs on spot only"
    untolerated = sorted(set(spec.taints) - set(task.tolerations))
    if not task.tolerates(spec.taints):
        return f"untolerated taint {untolerated[0]}"
    if task.num_gpu and task.gpu_types and spec.gpu_type not in task.gpu_types:
        return f"GPU type {spec.gpu_type or 'none'} is not one of {', '.join(task.gpu_types)}"
    if task.num_gpu and (short := shortfall(task.gpu_memory_mib, int(cluster.gpu_memory_mib[node]), spec.gpu_type)):
        return short
    if cluster.cpu_free[node] < task.cpu_milli:
        return f"insufficient CPU: {cluster.cpu_free[node]}m free, {task.cpu_milli}m asked"
    if cluster.memory_free[node] < task.memory_mib:
        return f"insufficient memory: {cluster.memory_free[node]} MiB free, {task.memory_mib} MiB asked"
    if not gpu_fits(task, cluster.gpu_free[node:node + 1])[0]:
        if task.num_gpu == 1:
            return f"no GPU with {task.per_gpu_milli} milli-GPU free"
        return f"fewer than {task.num_gpu} whole GPUs free"
    return None


def choose_gpus(task: Task, gpu_free: np.ndarray) -> np.ndarray:
    """For each row of ``gpu_free`` where the task fits, the boolean mask of the GPUs it takes.

    A share goes on the fullest GPU that still has room (keeping whole GPUs whole);
    whole GPUs are the first free ones.
    """
    if task.num_gpu == 0:
        return np.zeros_like(gpu_free, dtype=bool)
    if task.num_gpu == 1:
        room = np.where(gpu_free >= task.per_gpu_milli, gpu_free, np.iinfo(np.int64).max)
        chosen = np.zeros_like(gpu_free, dtype=bool)
        chosen[np.arange(gpu_free.shape[0]), room.argmin(axis=1)] = True
        return chosen
    whole = gpu_free == GPU_MILLI
    return whole & (np.cumsum(whole, axis=1) <= task.num_gpu)


def gpu_after(task: Task, gpu_free: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-GPU free milli of each row once the task is placed there, and the GPUs it takes."""
    chosen = choose_gpus(task, gpu_free)
    return gpu_free - chosen * task.per_gpu_milli, chosen
