"""Trace replay after the FGD paper: tasks arrive one by one and never leave; a task that fits nowhere fails.

Arrivals follow the trace's order; once the trace is exhausted, tasks are drawn from it at
random (with replacement, seeded) until the arrived GPU demand reaches ``max_demand`` times
the cluster's GPU capacity. Each step records the arrived demand, the allocated GPU and the
decision's latency; at every percent of arrived demand the cluster's expected GPU fragment is
measured against the workload.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Iterator, Sequence

import numpy as np

from shipyard.errors import UsageError
from shipyard.scheduling.cluster import Cluster
from shipyard.scheduling.fragmentation import FragmentationMeter, Workload
from shipyard.scheduling.model import Node, Task
from shipyard.scheduling.placement import Placement, commit, place
from shipyard.scheduling.policies import Policy


@dataclasses.dataclass(frozen=True)
class Replay:
    policy: str
    capacity_milli: int
    arrived_milli: np.ndarray
    """GPU demand arrived so far, after each task."""
    allocated_milli: np.ndarray
    """GPU allocated after each task."""
    checkpoints: np.ndarray
    """Arrived demand as a share of capacity (0.01, 0.02, …) at which the fragment was measured."""
    fragment_milli: np.ndarray
    """The cluster's expected GPU fragment at each checkpoint."""
    latency_s: np.ndarray
    """Seconds each placement decision took (wall clock)."""
    cpu_s: np.ndarray
    """CPU seconds of each placement decision: its cost without the time the process waited to run."""
    failed: int

    def allocated_share_at(self, demand_share: float) -> float:
        """Share of GPU capacity allocated when the arrived demand first reached ``demand_share`` of it."""
        step = min(int(np.searchsorted(self.arrived_milli, demand_share * self.capacity_milli)),
                   len(self.arrived_milli) - 1)
        return float(self.allocated_milli[step]) / self.capacity_milli

    def fragment_share_at(self, demand_share: float) -> float:
        i = min(int(np.searchsorted(self.checkpoints, demand_share - 1e-9)), len(self.checkpoints) - 1)
        return float(self.fragment_milli[i]) / self.capacity_milli


def arrivals(tasks: Sequence[Task], capacity_milli: int, max_demand: float, seed: int) -> Iterator[Task]:
    """The trace in order, then random draws from it, until the demand reaches ``max_demand`` × capacity."""
    if not tasks:
        raise UsageError("the trace has no tasks", hint="replay a trace with at least one task")
    if not any(task.gpu_demand_milli for task in tasks):
        raise UsageError("no task of the trace asks for a GPU", hint="replay a trace with GPU tasks")
    if not max_demand > 0:
        raise UsageError(f"max_demand is {max_demand}", hint="replay until a positive share of capacity, e.g. 1.3")
    target = max_demand * capacity_milli
    arrived = 0
    rng = np.random.default_rng(seed)
    for i in itertools.count():
        task = tasks[i] if i < len(tasks) else tasks[int(rng.integers(len(tasks)))]
        if i >= len(tasks):
            task = dataclasses.replace(task, name=f"{task.name}#{i}")
        yield task
        arrived += task.gpu_demand_milli
        if arrived >= target:
            return


def replay(tasks: Sequence[Task], nodes: Sequence[Node], policy: Policy, *, workload: Workload | None = None,
           max_demand: float = 1.3, seed: int = 0) -> Replay:
    cluster = Cluster(nodes)
    workload = workload or Workload.of(tasks)
    meter = FragmentationMeter(workload, cluster.gpu_types)
    capacity = cluster.gpu_capacity_milli
    arrived_trace, allocated_trace, latencies, cpu = [], [], [], []
    checkpoints, fragments = [], []
    arrived = allocated = failed = 0
    next_checkpoint = 1
    for task in arrivals(tasks, capacity, max_demand, seed):
        started, started_cpu = time.perf_counter(), time.thread_time()
        decision = place(task, cluster, policy)
        latencies.append(time.perf_counter() - started)
        cpu.append(time.thread_time() - started_cpu)
        if isinstance(decision, Placement):
            commit(task, cluster, decision)
            allocated += task.gpu_demand_milli
        else:
            failed += 1
        arrived += task.gpu_demand_milli
        arrived_trace.append(arrived)
        allocated_trace.append(allocated)
        while arrived >= next_checkpoint * capacity / 100:
            checkpoints.append(next_checkpoint / 100)
            fragments.append(meter.measure(cluster.cpu_free, cluster.gpu_free, cluster.gpu_type).sum())
            next_checkpoint += 1
    return Replay(policy=policy.name, capacity_milli=capacity, arrived_milli=np.array(arrived_trace),
                  allocated_milli=np.array(allocated_trace), checkpoints=np.array(checkpoints),
                  fragment_milli=np.array(fragments), latency_s=np.array(latencies), cpu_s=np.array(cpu),
                  failed=failed)
