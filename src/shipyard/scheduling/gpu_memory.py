"""Memory per GPU, by GPU model: what a task's ``gpu_memory`` is checked against.

A node's own figure (``Node.gpu_memory_mib``; in Kubernetes the ``nvidia.com/gpu.memory`` label
that NVIDIA's GPU feature discovery writes) comes first; else the table below, keyed by the GPU
model as the inventory names it (the openb trace's ``model`` column, ``nvidia.com/gpu.product``).
A model the table does not know and a node that declares no figure have unknown memory: a task
that asks for GPU memory is not placed there.
"""

from __future__ import annotations

import numpy as np

GIB_IN_MIB = 1024

GPU_MEMORY_MIB: dict[str, int] = {
    "K80": 12 * GIB_IN_MIB,
    "P100": 16 * GIB_IN_MIB,
    "T4": 16 * GIB_IN_MIB,
    "V100M16": 16 * GIB_IN_MIB,
    "V100M32": 32 * GIB_IN_MIB,
    "A10": 24 * GIB_IN_MIB,
    "A10G": 24 * GIB_IN_MIB,
    "L4": 24 * GIB_IN_MIB,
    "L40S": 48 * GIB_IN_MIB,
    "A100": 40 * GIB_IN_MIB,
    "A100-80GB": 80 * GIB_IN_MIB,
    "H100": 80 * GIB_IN_MIB,
    "H200": 141 * GIB_IN_MIB,
    "Tesla-T4": 16 * GIB_IN_MIB,
    "NVIDIA-A100-SXM4-40GB": 40 * GIB_IN_MIB,
    "NVIDIA-A100-SXM4-80GB": 80 * GIB_IN_MIB,
    "NVIDIA-H100-80GB-HBM3": 80 * GIB_IN_MIB,
}
"""Datasheet memory per GPU. openb's G1, G2 and G3 are undisclosed models and stay unknown."""

UNKNOWN = -1


def memory_per_gpu_mib(gpu_type: str, declared_mib: int = 0) -> int:
    """The node's declared figure, else the table's for its GPU model, else :data:`UNKNOWN`."""
    if declared_mib > 0:
        return declared_mib
    return GPU_MEMORY_MIB.get(gpu_type, UNKNOWN)


def enough_memory(wanted_mib: int, per_gpu_mib: np.ndarray) -> np.ndarray:
    """Which nodes' GPUs hold ``wanted_mib`` each (unknown memory never does, unless nothing is wanted)."""
    if wanted_mib <= 0:
        return np.ones(per_gpu_mib.shape[0], dtype=bool)
    return per_gpu_mib >= wanted_mib


def none_big_enough(wanted_mib: int, per_gpu_mib: np.ndarray) -> str | None:
    """Why no node can ever take a task needing ``wanted_mib`` per GPU, or None when some node's GPUs can."""
    if wanted_mib <= 0 or not len(per_gpu_mib) or per_gpu_mib.max() >= wanted_mib:
        return None
    largest = int(per_gpu_mib.max())
    known = f"the largest has {largest} MiB" if largest != UNKNOWN else "no node's GPU memory is known"
    return f"no node's GPUs have {wanted_mib} MiB of memory each ({known})"


def shortfall(wanted_mib: int, per_gpu_mib: int, gpu_type: str) -> str | None:
    """Why a GPU of ``per_gpu_mib`` cannot take a task that needs ``wanted_mib`` per GPU, or None when it can."""
    if wanted_mib <= 0 or per_gpu_mib >= wanted_mib:
        return None
    name = gpu_type or "none"
    if per_gpu_mib == UNKNOWN:
        return (f"GPU memory of type {name} is unknown, {wanted_mib} MiB per GPU asked "
                "(label the node nvidia.com/gpu.memory)")
    return f"GPU memory too small: type {name} has {per_gpu_mib} MiB per GPU, {wanted_mib} MiB asked"
