"""What is placed and where: tasks (jobs) and nodes, as the scheduler sees them.

GPU amounts are in milli-GPUs: a whole GPU is 1000. A task asks either for a share
of one GPU (``num_gpu == 1`` and ``gpu_milli < 1000``) or for ``num_gpu`` whole GPUs.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING

from shipyard.errors import UsageError
from shipyard.spec.scheduling_terms import (BATCH, BATCH_HIGH, BATCH_LOW, GPU_MILLI, MAX_GPUS_PER_NODE,  # noqa: F401
                                            PRIORITY_CLASSES, SERVING)

if TYPE_CHECKING:
    from shipyard.pipeline.dag import StepResources


@dataclasses.dataclass(frozen=True, kw_only=True)
class Task:
    name: str
    cpu_milli: int
    memory_mib: int = 0
    num_gpu: int = 0
    gpu_milli: int = 0
    """Milli-GPUs taken on each GPU: below 1000 shares one GPU (``num_gpu == 1``); 0 means whole GPUs."""
    gpu_types: tuple[str, ...] = ()
    """GPU models the task may run on; empty means any."""
    gpu_memory_mib: int = 0
    """Memory each of its GPUs must have (MiB); 0 means any."""
    team: str = ""
    priority_class: str = BATCH
    spot: bool = False
    """The task tolerates spot nodes, and may itself be preempted like ``batch-low``."""
    spot_only: bool = False
    """The task runs on spot nodes only (it tolerates them too)."""
    tolerations: tuple[str, ...] = ()
    """Taint keys the task tolerates; ``*`` tolerates every taint."""
    duration_s: float | None = None
    """Expected run time, when known: lets duration-aware policies co-locate tasks that end together."""
    due_s: float | None = None
    """When the task is to be done (seconds since the epoch, or the simulation's clock); None: no deadline."""
    checkpoint_interval_s: float | None = None
    """The most work (seconds) one preemption can cost the task; None: it does not checkpoint, so all of it."""

    def __post_init__(self):
        if self.num_gpu and self.gpu_milli == 0:
            object.__setattr__(self, "gpu_milli", GPU_MILLI)
        if self.cpu_milli < 0 or self.memory_mib < 0 or self.gpu_memory_mib < 0:
            raise UsageError(f"task {self.name!r} asks for negative CPU or memory",
                             hint="cpu_milli, memory_mib and gpu_memory_mib are non-negative integers")
        if not 0 <= self.num_gpu <= MAX_GPUS_PER_NODE:
            raise UsageError(f"task {self.name!r} asks for {self.num_gpu} GPUs",
                             hint=f"num_gpu is 0 to {MAX_GPUS_PER_NODE}")
        if self.num_gpu == 0 and self.gpu_milli:
            raise UsageError(f"task {self.name!r} asks for gpu_milli={self.gpu_milli} with num_gpu=0",
                             hint="set num_gpu=1 for a share of one GPU")
        if self.num_gpu == 1 and not 0 < self.gpu_milli <= GPU_MILLI:
            raise UsageError(f"task {self.name!r} asks for gpu_milli={self.gpu_milli} of its GPU",
                             hint=f"a share of one GPU is 1 to {GPU_MILLI} milli-GPUs")
        if self.num_gpu > 1 and self.gpu_milli not in (0, GPU_MILLI):
            raise UsageError(f"task {self.name!r} asks for {self.num_gpu} GPUs of {self.gpu_milli} milli each",
                             hint="only a single GPU can be shared; several GPUs are whole (gpu_milli 1000)")
        if self.checkpoint_interval_s is not None and not self.checkpoint_interval_s > 0:
            raise UsageError(f"task {self.name!r} checkpoints every {self.checkpoint_interval_s} s",
                             hint="the checkpoint interval is a number of seconds above 0, or none")
        if self.priority_class not in PRIORITY_CLASSES:
            raise UsageError(f"task {self.name!r} has priority class {self.priority_class!r}",
                             hint=f"one of {', '.join(PRIORITY_CLASSES)}")

    @property
    def per_gpu_milli(self) -> int:
        """Milli-GPUs the task takes on each GPU it uses."""
        return self.gpu_milli if self.num_gpu == 1 else GPU_MILLI if self.num_gpu else 0

    @property
    def gpu_demand_milli(self) -> int:
        return self.num_gpu * self.per_gpu_milli

    def tolerates(self, taints: tuple[str, ...]) -> bool:
        return "*" in self.tolerations or set(taints) <= set(self.tolerations)

    @property
    def priority(self) -> int:
        return PRIORITY_CLASSES[self.priority_class]

    @property
    def preemptible(self) -> bool:
        """Spot and ``batch-low`` tasks may be preempted; serving never is."""
        return self.priority_class != SERVING and (self.spot or self.priority_class == BATCH_LOW)

    @property
    def shape(self) -> tuple[int, int, int, tuple[str, ...]]:
        return self.cpu_milli, self.num_gpu, self.per_gpu_milli, self.gpu_types


@dataclasses.dataclass(frozen=True, kw_only=True)
class Node:
    name: str
    cpu_milli: int
    memory_mib: int
    num_gpu: int = 0
    gpu_type: str = ""
    gpu_memory_mib: int = 0
    """Memory per GPU (MiB); 0: the figure of its GPU type (``scheduling.gpu_memory``)."""
    spot: bool = False
    """Spot capacity: only tasks that tolerate spot are placed there."""
    taints: tuple[str, ...] = ()
    """Taint keys (effect NoSchedule); a task must tolerate each to be placed here."""

    def __post_init__(self):
        if self.cpu_milli < 0 or self.memory_mib < 0 or self.gpu_memory_mib < 0:
            raise UsageError(f"node {self.name!r} has negative CPU or memory",
                             hint="cpu_milli, memory_mib and gpu_memory_mib are non-negative integers")
        if not 0 <= self.num_gpu <= MAX_GPUS_PER_NODE:
            raise UsageError(f"node {self.name!r} has {self.num_gpu} GPUs",
                             hint=f"a node has 0 to {MAX_GPUS_PER_NODE} GPUs")


def task_for_step(name: str, resources: StepResources, *, team: str = "", run_started_s: float | None = None) -> Task:
    """The task a pipeline step with these ``resources`` is, for every placer: executors, the extender, the simulator.

    A GPU amount below 1 is a share of one GPU (``0.25`` is 250 milli-GPUs); 1 and above are whole GPUs.
    The step's deadline becomes a due time once the run's start (``run_started_s``) is known.
    """
    due_s = run_started_s + resources.deadline if run_started_s is not None and resources.deadline else None
    gpu = resources.gpu
    num_gpu = 0 if gpu == 0 else 1 if gpu < 1 else int(gpu)
    gpu_milli = round(gpu * GPU_MILLI) if 0 < gpu < 1 else GPU_MILLI if num_gpu else 0
    return Task(name=name, cpu_milli=round(resources.cpu * 1000), memory_mib=math.ceil(resources.memory / 2 ** 20),
                num_gpu=num_gpu, gpu_milli=gpu_milli, gpu_types=tuple(resources.gpu_types),
                gpu_memory_mib=math.ceil(resources.gpu_memory / 2 ** 20) if num_gpu else 0, team=team,
                priority_class=resources.priority, spot=resources.spot or resources.spot_only,
                spot_only=resources.spot_only, duration_s=resources.expected_duration, due_s=due_s,
                checkpoint_interval_s=resources.checkpoint_interval)
