"""What a run reserves under its team's quota, and the executor budget that keeps it within that.

A run reserves, for CPU, memory and GPUs each, what its widest step still to run requests: a
step's own ``resources``, and for a sweep one trial's resources times the trials it may run at
once (``sweep_trials`` of the quota, else all of ``n_trials``), capped by the machine. While a
quota limits a resource, the run's executor gets only what the run reserved of it, so steps
that fit side by side within the reservation still run in parallel, and the run never holds
more than its team granted. A run with a sweep reserves as many trials as it may run at once.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from shipyard.governance.admission import Request
from shipyard.governance.quotas import Quota
from shipyard.pipeline.dag import Dag, StepNode
from shipyard.pipeline.executor import Budget


def reservation(dag: Dag, pending: Iterable[str], quota: Quota, machine: Budget) -> Request:
    cpu, memory, gpus, trials = 0.0, 0, 0, 0
    for name in pending:
        node = dag.node(name)
        width = sweep_width(node, quota) if node.kind == "sweep" else 1
        if node.kind == "sweep":
            trials = max(trials, width)
        cpu = max(cpu, node.resources.cpu * width)
        memory = max(memory, node.resources.memory * width)
        gpus = max(gpus, math.ceil(node.resources.gpu * width))  # a quota counts whole GPUs; a share takes one
    if machine.memory:
        memory = min(memory, machine.memory)
    return Request(cpu=min(cpu, machine.cpu), memory=memory, gpus=gpus,
                   sweep_trials=trials if quota.sweep_trials is not None else 0)


def sweep_width(node: StepNode, quota: Quota) -> int:
    """How many of the sweep's trials may run at once under the quota."""
    n_trials = int(node.params["sweep"]["n_trials"])
    return min(n_trials, quota.sweep_trials) if quota.sweep_trials is not None else n_trials


def budget_within(request: Request, quota: Quota, machine: Budget) -> Budget:
    """The machine's budget, narrowed to the reservation for each resource the quota limits."""
    return Budget(cpu=request.cpu if quota.cpu is not None and request.cpu else machine.cpu,
                  memory=request.memory if quota.memory is not None and request.memory else machine.memory,
                  gpu=min(request.gpus, machine.gpu) if quota.gpus is not None else machine.gpu)
