"""What a worker does with one step: load its inputs, call it, store its outputs."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from shipyard.config import Settings
from shipyard.errors import UserCodeError
from shipyard.pipeline.artifacts import open_artifact_store
from shipyard.pipeline.dag import StepNode, StepResources
from shipyard.pipeline.serialization import load_value, save_value
from shipyard.pipeline.worker import resolve_callable


@dataclass(frozen=True, kw_only=True)
class StepContext:
    run_id: str
    step: str
    params: dict[str, Any]
    input_refs: dict[str, dict[str, str]]
    settings: Settings
    base_dir: Path
    resources: StepResources
    extra_modules: tuple[str, ...] = ()

    def input_digest(self, arg: str) -> str:
        return self.input_refs[arg]["digest"]


@dataclass(frozen=True, kw_only=True)
class StepResult:
    outputs: dict[str, Any]
    details: dict[str, Any] = field(default_factory=dict)


def execute_step(*, node: StepNode, input_refs: dict[str, dict[str, str]], run_id: str,
                 settings: Settings, base_dir: str, extra_modules: tuple[str, ...]) -> dict[str, Any]:
    """Runs in a worker. Returns ``{"outputs": {name: stored artifact}, "details": {...}}``."""
    store = open_artifact_store(settings)
    inputs = {arg: ref if arg in node.ref_inputs else load_value(store, ref, extra_modules=extra_modules)
              for arg, ref in input_refs.items()}
    if node.user_code:
        result = _run_user_step(node, inputs)
    else:
        context = StepContext(run_id=run_id, step=node.name, params=node.params, input_refs=input_refs,
                              settings=settings, base_dir=Path(base_dir), resources=node.resources,
                              extra_modules=extra_modules)
        result = resolve_callable(node.impl)(context, **inputs)
    stored = {name: asdict(save_value(store, result.outputs[name], extra_modules=extra_modules))
              for name in node.outputs}
    return {"outputs": stored, "details": result.details}


def _run_user_step(node: StepNode, inputs: dict[str, Any]) -> StepResult:
    from shipyard.data.usercode import call_user, resolve_function

    function = resolve_function(node.impl)
    value = call_user(function, **inputs, **node.params)
    if len(node.outputs) == 1:
        return StepResult(outputs={node.outputs[0]: value})
    if isinstance(value, tuple) and len(value) == len(node.outputs):
        return StepResult(outputs=dict(zip(node.outputs, value)))
    if isinstance(value, dict) and set(node.outputs) <= set(value):
        return StepResult(outputs={name: value[name] for name in node.outputs})
    got = sorted(value) if isinstance(value, dict) else type(value).__name__
    raise UserCodeError(
        f"step '{node.name}' ({node.impl}) declares outputs {list(node.outputs)} but returned {got}",
        hint="return a dict with those keys, or a tuple in the declared order")
