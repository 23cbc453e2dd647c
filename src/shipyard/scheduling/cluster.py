"""The node inventory and what is allocated on it, as NumPy arrays so that every node is scored at once."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import numpy as np

from shipyard.errors import RefusedError, UsageError
from shipyard.scheduling.gpu_memory import memory_per_gpu_mib
from shipyard.scheduling.model import GPU_MILLI, MAX_GPUS_PER_NODE, Node, Task


@dataclasses.dataclass(frozen=True)
class Allocation:
    task: Task
    node: int
    gpus: tuple[int, ...]
    """Indices of the node's GPUs the task uses (each for ``task.per_gpu_milli``)."""
    ends_at: float | None = None


class Cluster:
    """Free CPU, memory and per-GPU milli of every node, the running tasks and each team's GPU use.

    Row ``i`` of every array is ``nodes[i]``. A GPU slot past a node's GPU count has 0 free and is never used.
    """

    def __init__(self, nodes: Iterable[Node]):
        self.nodes: list[Node] = list(nodes)
        self.index = {node.name: i for i, node in enumerate(self.nodes)}
        if len(self.index) != len(self.nodes):
            raise UsageError("two nodes share a name", hint="node names identify nodes: make them unique")
        n = len(self.nodes)
        self.cpu_capacity = np.array([node.cpu_milli for node in self.nodes], dtype=np.int64)
        self.memory_capacity = np.array([node.memory_mib for node in self.nodes], dtype=np.int64)
        self.gpu_count = np.array([node.num_gpu for node in self.nodes], dtype=np.int64)
        self.gpu_exists = np.arange(MAX_GPUS_PER_NODE)[None, :] < self.gpu_count[:, None]
        self.cpu_free = self.cpu_capacity.copy()
        self.memory_free = self.memory_capacity.copy()
        self.gpu_free = np.where(self.gpu_exists, GPU_MILLI, 0).astype(np.int64)
        self.gpu_types: list[str] = sorted({node.gpu_type for node in self.nodes})
        self.gpu_type = np.array([self.gpu_types.index(node.gpu_type) for node in self.nodes], dtype=np.int64)
        self.gpu_memory_mib = np.array([memory_per_gpu_mib(node.gpu_type, node.gpu_memory_mib) for node in self.nodes],
                                       dtype=np.int64)
        """Memory per GPU of each node, ``gpu_memory.UNKNOWN`` where neither the node nor its type says."""
        self.spot = np.array([node.spot for node in self.nodes], dtype=bool)
        self.tainted = np.array([bool(node.taints) for node in self.nodes], dtype=bool)
        self.end_time_sum = np.zeros(n)
        """Sum of the expected end times of the GPU tasks on each node whose duration is known."""
        self.timed_tasks = np.zeros(n, dtype=np.int64)
        self.shape_counts: dict[tuple[int, int], np.ndarray] = {}
        """(num_gpu, per_gpu_milli) -> how many running tasks of that GPU shape each node hosts."""
        self.running: dict[str, Allocation] = {}
        self.team_gpu_milli: dict[str, int] = {}
        self.now = 0.0
        """The clock expected end times are counted from (seconds; the simulator advances it)."""
        self.changed_nodes: list[int] = []
        """Every node an allocation or release touched, in order: caches of per-node figures refresh from it."""

    def __len__(self) -> int:
        return len(self.nodes)

    @property
    def gpu_capacity_milli(self) -> int:
        return int(self.gpu_count.sum()) * GPU_MILLI

    @property
    def gpu_allocated_milli(self) -> int:
        return self.gpu_capacity_milli - int(self.gpu_free.sum())

    def node_index(self, name: str) -> int:
        try:
            return self.index[name]
        except KeyError:
            raise UsageError(f"no node named {name!r} in the inventory",
                             hint="name one of the inventory's nodes") from None

    def observe(self, node: int, *, cpu_milli: int | None = None, memory_mib: int | None = None,
                gpu_milli: list[int] | None = None) -> None:
        """Set what is free on a node as reported from outside (tasks this inventory did not place)."""
        if cpu_milli is not None:
            self.cpu_free[node] = min(cpu_milli, self.cpu_capacity[node])
        if memory_mib is not None:
            self.memory_free[node] = min(memory_mib, self.memory_capacity[node])
        if gpu_milli is not None:
            self.gpu_free[node, :len(gpu_milli)] = gpu_milli
        self._changed(node)

    def allocate(self, task: Task, node: int, gpus: tuple[int, ...]) -> Allocation:
        """Take the task's resources on ``node`` (on the given GPUs); refuses what does not fit."""
        if task.name in self.running:
            raise RefusedError(f"task {task.name!r} is already running", hint="task names must be unique")
        if len(gpus) != task.num_gpu or len(set(gpus)) != len(gpus):
            raise RefusedError(f"task {task.name!r} needs {task.num_gpu} distinct GPUs, was given {list(gpus)}")
        per_gpu = task.per_gpu_milli
        if (self.cpu_free[node] < task.cpu_milli or self.memory_free[node] < task.memory_mib
                or any(g >= self.gpu_count[node] or self.gpu_free[node, g] < per_gpu for g in gpus)):
            raise RefusedError(f"task {task.name!r} does not fit on node {self.nodes[node].name!r}")
        self.cpu_free[node] -= task.cpu_milli
        self.memory_free[node] -= task.memory_mib
        for g in gpus:
            self.gpu_free[node, g] -= per_gpu
        ends_at = self.now + task.duration_s if task.duration_s is not None and task.num_gpu else None
        if ends_at is not None:
            self.end_time_sum[node] += ends_at
            self.timed_tasks[node] += 1
        if task.num_gpu:
            counts = self.shape_counts.setdefault((task.num_gpu, per_gpu), np.zeros(len(self), dtype=np.int64))
            counts[node] += 1
        allocation = Allocation(task, node, tuple(gpus), ends_at)
        self.running[task.name] = allocation
        self.team_gpu_milli[task.team] = self.team_gpu_milli.get(task.team, 0) + task.gpu_demand_milli
        self._changed(node)
        return allocation

    def release(self, name: str) -> Allocation:
        """Give back a running task's resources (it ended or was preempted)."""
        try:
            allocation = self.running.pop(name)
        except KeyError:
            raise UsageError(f"no running task named {name!r}", hint="name a task that was placed") from None
        task, node = allocation.task, allocation.node
        self.cpu_free[node] += task.cpu_milli
        self.memory_free[node] += task.memory_mib
        for g in allocation.gpus:
            self.gpu_free[node, g] += task.per_gpu_milli
        if allocation.ends_at is not None:
            self.end_time_sum[node] -= allocation.ends_at
            self.timed_tasks[node] -= 1
        if task.num_gpu:
            self.shape_counts[(task.num_gpu, task.per_gpu_milli)][node] -= 1
        self.team_gpu_milli[task.team] -= task.gpu_demand_milli
        self._changed(node)
        return allocation

    def _changed(self, node: int) -> None:
        self.changed_nodes.append(node)
