"""GPU fragmentation of a node with respect to a workload, after Fragmentation Gradient Descent (ATC '23).

A node's free GPU resource is a *fragment* for a task shape when that task cannot use it:
all of the node's free GPU when the task cannot be placed on the node at all (too little
CPU, the wrong GPU type, too few free GPUs) or asks for no GPU; otherwise the free milli of
each GPU that has less room than the task takes per GPU. A node's fragmentation with respect
to a workload is the expectation over the workload's task shapes, weighted by how often each
shape occurs:

    F_n(M) = sum_m p_m * F_n(m)

Rewritten as ``S_n - sum_m p_m * ok_m(n) * usable_m(n)``, with ``S_n`` the node's free GPU
milli and ``usable_m(n)`` the free milli on GPUs with at least the task's per-GPU need, every
node is measured with a few array operations.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable

import numpy as np

from shipyard.errors import UsageError
from shipyard.scheduling.model import GPU_MILLI, Task


@dataclasses.dataclass(frozen=True)
class Workload:
    """The distribution of task shapes the cluster serves: what "fragment" is measured against."""

    cpu_milli: np.ndarray
    num_gpu: np.ndarray
    per_gpu_milli: np.ndarray
    gpu_types: tuple[tuple[str, ...], ...]
    weight: np.ndarray
    """Popularity of each shape; sums to 1."""

    @classmethod
    def of(cls, tasks: Iterable[Task]) -> Workload:
        counts = Counter(task.shape for task in tasks)
        if not counts:
            raise UsageError("the workload has no tasks", hint="give at least one task to learn the shapes from")
        shapes = sorted(counts)
        total = sum(counts.values())
        return cls(cpu_milli=np.array([s[0] for s in shapes], dtype=np.int64),
                   num_gpu=np.array([s[1] for s in shapes], dtype=np.int64),
                   per_gpu_milli=np.array([s[2] for s in shapes], dtype=np.int64),
                   gpu_types=tuple(s[3] for s in shapes),
                   weight=np.array([counts[s] / total for s in shapes]))

    def __len__(self) -> int:
        return len(self.weight)


class FragmentationMeter:
    """Measures node fragmentation against one workload on one cluster's GPU types."""

    def __init__(self, workload: Workload, gpu_types: list[str]):
        gpu = np.flatnonzero(workload.num_gpu > 0)
        gpu = gpu[np.argsort(workload.per_gpu_milli[gpu], kind="stable")]
        self.cpu_milli = workload.cpu_milli[gpu]
        self.num_gpu = workload.num_gpu[gpu]
        self.weight = workload.weight[gpu]
        self.thresholds, self.group_starts = np.unique(workload.per_gpu_milli[gpu], return_index=True)
        """Distinct per-GPU needs, and where each one's shapes start (shapes are sorted by need)."""
        self.whole = self.num_gpu > 1
        types = [workload.gpu_types[i] for i in gpu]
        self.type_allowed = np.array([[not allowed or name in allowed for allowed in types] for name in gpu_types],
                                     dtype=bool).reshape(len(gpu_types), len(types))
        """[gpu type, shape]: may the shape run on that GPU type."""

    def measure(self, cpu_free: np.ndarray, gpu_free: np.ndarray, gpu_type: np.ndarray) -> np.ndarray:
        """Expected fragment (milli-GPU) of each row: a node's free CPU, per-GPU free milli and GPU type index."""
        total = gpu_free.sum(axis=1)
        if not len(self.weight) or not len(total):
            return total.astype(float)
        ok = (cpu_free[:, None] >= self.cpu_milli[None, :]) & self.type_allowed[gpu_type]
        if self.whole.any():
            whole_free = (gpu_free == GPU_MILLI).sum(axis=1)
            ok &= (whole_free[:, None] >= self.num_gpu[None, :]) | ~self.whole[None, :]
        usable_weight = np.add.reduceat(ok * self.weight, self.group_starts, axis=1)
        return total - (self._usable(gpu_free) * usable_weight).sum(axis=1)

    def _usable(self, gpu_free: np.ndarray) -> np.ndarray:
        """[row, threshold]: free milli summed over the row's GPUs with at least the threshold free.

        Each row sorted ascending and offset by its row number makes one sorted array, so a
        single ``searchsorted`` finds, for every row and threshold, where the usable GPUs start.
        """
        rows, width = gpu_free.shape
        ascending = np.sort(gpu_free, axis=1)
        offset = np.arange(rows, dtype=np.int64)[:, None] * (2 * GPU_MILLI)
        starts = np.searchsorted((ascending + offset).ravel(), (offset + self.thresholds[None, :]).ravel())
        suffix = np.zeros((rows, width + 1), dtype=np.int64)
        suffix[:, :width] = np.cumsum(ascending[:, ::-1], axis=1)[:, ::-1]
        in_row = starts.reshape(rows, -1) - offset // (2 * GPU_MILLI) * width
        return np.take_along_axis(suffix, in_row, axis=1)

