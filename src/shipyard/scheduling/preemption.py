"""Preemption: a task of higher priority may evict spot and ``batch-low`` tasks of lower priority, never serving."""

from __future__ import annotations

import dataclasses

from shipyard.scheduling.cluster import Allocation, Cluster
from shipyard.scheduling.filters import gpu_fits
from shipyard.scheduling.model import Task


def may_preempt(preemptor: Task, victim: Task) -> bool:
    return victim.preemptible and victim.priority < preemptor.priority


@dataclasses.dataclass(frozen=True)
class Preemption:
    node: str
    node_index: int
    victims: tuple[str, ...]


def plan_preemption(task: Task, cluster: Cluster) -> Preemption | None:
    """The node where evicting the fewest preemptible tasks (then the least GPU) makes room for ``task``.

    Victims are taken lowest priority first, then smallest GPU share first. None when no
    eviction allowed by :func:`may_preempt` makes room anywhere.
    """
    by_node: dict[int, list[Allocation]] = {}
    for allocation in cluster.running.values():
        if may_preempt(task, allocation.task):
            by_node.setdefault(allocation.node, []).append(allocation)
    best: tuple[tuple[int, int], Preemption] | None = None
    for node, candidates in by_node.items():
        victims = _evict_until_fits(task, cluster, node, candidates)
        if victims is None:
            continue
        cost = (len(victims), sum(v.task.gpu_demand_milli for v in victims))
        if best is None or cost < best[0]:
            best = cost, Preemption(cluster.nodes[node].name, node, tuple(v.task.name for v in victims))
    return None if best is None else best[1]


def _evict_until_fits(task: Task, cluster: Cluster, node: int, candidates: list[Allocation]):
    spec = cluster.nodes[node]
    if (spec.spot and not task.spot) or not task.tolerates(spec.taints):
        return None
    if task.num_gpu and task.gpu_types and spec.gpu_type not in task.gpu_types:
        return None
    if task.num_gpu and task.gpu_memory_mib and task.gpu_memory_mib > cluster.gpu_memory_mib[node]:
        return None
    cpu, memory = int(cluster.cpu_free[node]), int(cluster.memory_free[node])
    gpu = cluster.gpu_free[node].copy()
    victims: list[Allocation] = []
    for victim in sorted(candidates, key=lambda a: (a.task.priority, a.task.gpu_demand_milli, a.task.name)):
        if cpu >= task.cpu_milli and memory >= task.memory_mib and gpu_fits(task, gpu[None, :])[0]:
            break
        victims.append(victim)
        cpu += victim.task.cpu_milli
        memory += victim.task.memory_mib
        gpu[list(victim.gpus)] += victim.task.per_gpu_milli
    fits = cpu >= task.cpu_milli and memory >= task.memory_mib and bool(gpu_fits(task, gpu[None, :])[0])
    return victims if fits and victims else None


def preempt(plan: Preemption, cluster: Cluster) -> list[Allocation]:
    """Evict the planned victims; the caller then places the preemptor."""
    return [cluster.release(name) for name in plan.victims]

