"""What a worker does with one step: load its inputs, call it, store its outputs."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from shipyard.config import Settings
from shipyard.errors import ShipyardError, UserCodeError
from shipyard.governance.identity import Identity, acting_as
from shipyard.pipeline import checkpoint
from shipyard.pipeline.artifacts import open_artifact_store
from shipyard.pipeline.cache import cache_key
from shipyard.pipeline.checkpoint import Checkpoints
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
    checkpoints: Checkpoints | None = None
    """This step's checkpoint in this run (see ``pipeline.checkpoint``)."""

    def input_digest(self, arg: str) -> str:
        return self.input_refs[arg]["digest"]


@dataclass(frozen=True, kw_only=True)
class StepResult:
    outputs: dict[str, Any]
    details: dict[str, Any] = field(default_factory=dict)
    cacheable: bool = True
    """False for a result a later run must not reuse (a registration still waiting for tracking sync)."""


def execute_step(*, node: StepNode, input_refs: dict[str, dict[str, str]], run_id: str,
                 settings: Settings, base_dir: str, extra_modules: tuple[str, ...],
                 identity: Identity | None = None) -> dict[str, Any]:
    """Runs in a worker, as ``identity`` (who started the run) when given.

    Returns ``{"outputs": {name: stored artifact}, "details": {...}, "cacheable": bool}``.
    """
    with acting_as(identity) if identity is not None else contextlib.nullcontext():
        return _execute(node, input_refs, run_id, settings, base_dir, extra_modules)


def _execute(node: StepNode, input_refs: dict[str, dict[str, str]], run_id: str, settings: Settings, base_dir: str,
             extra_modules: tuple[str, ...]) -> dict[str, Any]:
    store = open_artifact_store(settings)
    inputs = {arg: ref if arg in node.ref_inputs else load_value(store, ref, extra_modules=extra_modules)
              for arg, ref in input_refs.items()}
    checkpoints = Checkpoints(store=store, run_id=run_id, step=node.name, extra_modules=extra_modules,
                              fingerprint=functools.cache(lambda: cache_key(node, input_refs)))
    with checkpoint.activate(checkpoints):
        if node.user_code:
            result = _run_user_step(node, inputs)
        else:
            context = StepContext(run_id=run_id, step=node.name, params=node.params, input_refs=input_refs,
                                  settings=settings, base_dir=Path(base_dir), resources=node.resources,
                                  extra_modules=extra_modules, checkpoints=checkpoints)
            result = resolve_callable(node.impl)(context, **inputs)
    stored = {name: asdict(_save_output(store, node, name, result.outputs[name], extra_modules))
              for name in node.outputs}
    checkpoints.clear()
    return {"outputs": stored, "details": result.details, "cacheable": result.cacheable}


def _run_user_step(node: StepNode, inputs: dict[str, Any]) -> StepResult:
    from shipyard.data.usercode import call_user, resolve_function

    function = resolve_function(node.impl)
    return StepResult(outputs=user_outputs(node, call_user(function, **inputs, **node.params)))


def user_outputs(node: StepNode, value: Any) -> dict[str, Any]:
    """A user function's return value as ``{output: value}``.

    With one declared output the function returns the value itself, or ``{output: value}``; with
    several, a mapping keyed by exactly the declared names, or a tuple in the declared order.
    """
    names = list(node.outputs)
    if isinstance(value, Mapping) and any(name in value for name in names):
        if set(value) == set(names):
            return {name: value[name] for name in names}
        if len(names) == 1:
            raise _wrong_shape(node, value, f"it has the output name '{names[0]}' as a key among others, so it is "
                                            "neither the bare value nor a mapping of the declared outputs")
        missing, extra = sorted(set(names) - set(value)), sorted(set(value) - set(names))
        problems = ([f"missing {missing}"] if missing else []) + ([f"undeclared {extra}"] if extra else [])
        raise _wrong_shape(node, value, "its keys are not the declared outputs: " + ", ".join(problems))
    if len(names) == 1:
        return {names[0]: value}
    if isinstance(value, tuple) and len(value) == len(names):
        return dict(zip(names, value))
    raise _wrong_shape(node, value, f"a step with {len(names)} outputs returns a mapping or a tuple of that many")


def _wrong_shape(node: StepNode, value: Any, why: str) -> UserCodeError:
    names = list(node.outputs)
    example = f"{{'{names[0]}': value}}" if len(names) == 1 else "{" + ", ".join(f"'{n}': ..." for n in names) + "}"
    return UserCodeError(
        f"step '{node.name}' ({node.impl}) declares outputs {names} but returned {describe_value(value)}: {why}",
        headline="user step returned the wrong shape",
        hint=f"return the value itself, or {example}" if len(names) == 1
        else f"return {example}, or a tuple in the declared order")


def _save_output(store, node: StepNode, name: str, value: Any, extra_modules: tuple[str, ...]):
    try:
        return save_value(store, value, extra_modules=extra_modules)
    except Exception as exc:
        if not node.user_code:
            raise
        reason = exc.message if isinstance(exc, ShipyardError) else f"{type(exc).__name__}: {exc}"
        raise UserCodeError(
            f"step '{node.name}' ({node.impl}) returned {describe_value(value)} for its output '{name}' "
            f"(declared outputs: {list(node.outputs)}), which cannot be stored: {reason}",
            headline="user step output cannot be stored",
            hint="return a pandas DataFrame, JSON-like data (dict, list, str, number, bool, None), bytes or a "
                 "fitted scikit-learn object") from None


def describe_value(value: Any) -> str:
    if isinstance(value, Mapping):
        return f"a {type(value).__name__} with keys {sorted(map(str, value))}"
    if isinstance(value, tuple):
        return f"a tuple of {len(value)}"
    kind = type(value)
    return f"a {kind.__name__}" if kind.__module__ == "builtins" else f"a {kind.__module__}.{kind.__qualname__}"
