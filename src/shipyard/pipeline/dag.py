"""The pipeline as a DAG of steps, compiled from a spec or built by hand."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shipyard.errors import SpecError


@dataclass(frozen=True, kw_only=True)
class StepResources:
    """What a step asks of the machine, as the spec's ``resources`` say (see ``scheduling.model.task_for_step``)."""

    cpu: float = 1.0
    memory: int = 0
    gpu: float = 0
    """Whole GPUs, or below 1 a share of one GPU."""
    gpu_memory: int = 0
    gpu_types: tuple[str, ...] = ()
    expected_duration: float | None = None
    spot: bool = False
    """The step may run on spot capacity."""
    spot_only: bool = False
    """The step runs on spot capacity only."""
    priority: str = "batch"
    deadline: float | None = None
    """Seconds after the run's start by which the step is to be done."""
    checkpoint_interval: float | None = None
    """The most seconds of work one preemption can cost the step; None: all of it."""


@dataclass(frozen=True, kw_only=True)
class StepNode:
    """One step: what it runs, what it reads and writes, and how it is executed.

    ``impl`` is the ``module:function`` the worker calls; ``params`` are JSON data
    that enter the cache key together with the input digests and ``code_refs``.
    ``kind == "sweep"`` marks a step the runner fans out into trials. Inputs named
    in ``ref_inputs`` reach the step as artifact references, not loaded values.
    """

    name: str
    kind: str
    impl: str
    inputs: dict[str, str] = field(default_factory=dict)
    outputs: tuple[str, ...] = ("result",)
    params: dict[str, Any] = field(default_factory=dict)
    code_refs: tuple[str, ...] = ()
    resources: StepResources = field(default_factory=StepResources)
    retries: int = 0
    timeout: float | None = None
    cacheable: bool = True
    user_code: bool = False
    ref_inputs: tuple[str, ...] = ()

    def upstream(self) -> set[str]:
        return {ref.split(".", 1)[0] for ref in self.inputs.values()}


@dataclass(frozen=True)
class Dag:
    nodes: tuple[StepNode, ...]

    def __post_init__(self) -> None:
        self._check()

    @property
    def names(self) -> list[str]:
        return [node.name for node in self.nodes]

    def node(self, name: str) -> StepNode:
        for node in self.nodes:
            if node.name == name:
                return node
        raise SpecError(f"no step named '{name}'; steps are: {', '.join(self.names)}")

    def downstream_of(self, name: str) -> set[str]:
        """The named step and every step that depends on it, transitively."""
        found = {name}
        changed = True
        while changed:
            changed = False
            for node in self.nodes:
                if node.name not in found and node.upstream() & found:
                    found.add(node.name)
                    changed = True
        return found

    def _check(self) -> None:
        names = [node.name for node in self.nodes]
        seen: set[str] = set()
        for name in names:
            if name in seen:
                raise SpecError(f"two steps are named '{name}'; step names must be unique")
            seen.add(name)
        by_name = {node.name: node for node in self.nodes}
        for node in self.nodes:
            for arg, ref in node.inputs.items():
                step, _, output = ref.partition(".")
                if step not in by_name:
                    raise SpecError(
                        f"step '{node.name}' input '{arg}' reads '{ref}', but there is no step '{step}'",
                        hint=f"steps are: {', '.join(names)}")
                if output not in by_name[step].outputs:
                    raise SpecError(
                        f"step '{node.name}' input '{arg}' reads '{ref}', but step '{step}' has no output "
                        f"'{output}'", hint=f"outputs of '{step}': {', '.join(by_name[step].outputs)}")
        self.topological_order()

    def topological_order(self) -> list[str]:
        remaining = {node.name: node.upstream() for node in self.nodes}
        order: list[str] = []
        while remaining:
            ready = [name for name, deps in remaining.items() if not deps - set(order)]
            if not ready:
                cycle = ", ".join(sorted(remaining))
                raise SpecError(f"the steps {cycle} depend on each other in a cycle",
                                hint="check the 'inputs' of your steps")
            for name in ready:
                order.append(name)
                del remaining[name]
        return order
