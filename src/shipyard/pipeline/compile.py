"""From a validated spec to the DAG of steps the runner executes.

    ingest → validate → split → features ─┐
                          └──→ sweep ─────┴→ train → evaluate → register

plus the user's steps; a spec without a model compiles to its user steps alone.
"""

from __future__ import annotations

from typing import Any

from shipyard.errors import ShipyardError, SpecError
from shipyard.pipeline.dag import Dag, StepNode, StepResources
from shipyard.spec.loader import parse_spec
from shipyard.spec.models import PipelineSpec, Resources, UserStep

_STEPS = "shipyard.pipeline.steps"


def _resources(resources: Resources) -> StepResources:
    return StepResources(cpu=resources.cpu, memory=resources.memory, gpu=resources.gpu,
                         gpu_memory=resources.gpu_memory, gpu_types=resources.gpu_type,
                         expected_duration=resources.expected_duration, spot=resources.spot != "never",
                         spot_only=resources.spot == "required", priority=resources.priority,
                         deadline=resources.deadline, checkpoint_interval=resources.checkpoint_interval)


def user_modules(spec: PipelineSpec) -> tuple[str, ...]:
    """Modules of the user's own functions: their types may be deserialized."""
    refs = [g.function for g in spec.features or () if g.function] + [s.function for s in spec.steps]
    return tuple(sorted({ref.partition(":")[0] for ref in refs}))


def compile_spec(spec: PipelineSpec, *, spec_text: str, spec_filename: str,
                 source_digest: str | None) -> Dag:
    user_steps = tuple(_user_step(step, spec) for step in spec.steps)
    if not spec.trains_model:
        return Dag(user_steps)
    return Dag(_model_steps(spec, spec_text=spec_text, spec_filename=spec_filename,
                            source_digest=source_digest) + user_steps)


def _model_steps(spec: PipelineSpec, *, spec_text: str, spec_filename: str,
                 source_digest: str | None) -> tuple[StepNode, ...]:
    def dump(model) -> Any:
        return model.model_dump(mode="json")

    def build(name: str, *, impl: str, inputs: dict[str, str], outputs: tuple[str, ...],
              params: dict[str, Any], code_refs: tuple[str, ...] = (), cacheable: bool = True,
              ref_inputs: tuple[str, ...] = ()) -> StepNode:
        options = spec.step_options.get(name)
        wired = dict(inputs)
        if options and options.inputs:
            unknown = sorted(set(options.inputs) - set(inputs))
            if unknown:
                raise SpecError(f"step_options.{name}.inputs names {unknown}, which step '{name}' does not take",
                                hint=f"'{name}' takes: {', '.join(inputs)}")
            wired.update(options.inputs)
        resources = options.resources if options and options.resources else spec.resources
        retries = options.retries if options and options.retries is not None else spec.retries
        timeout = options.timeout if options and options.timeout is not None else spec.timeout
        return StepNode(name=name, kind=name, impl=impl, inputs=wired, outputs=outputs, params=params,
                        code_refs=code_refs, resources=_resources(resources), retries=retries,
                        timeout=timeout, cacheable=cacheable, ref_inputs=ref_inputs)

    feature_refs = tuple(g.function for g in spec.features if g.function)
    task = spec.task()
    target = spec.data.target
    data = dump(spec.data)
    features = [dump(g) for g in spec.features]
    nodes = [
        build("ingest", impl=f"{_STEPS}.ingest:run", inputs={}, outputs=("frame",),
              params={"data": data, "source_digest": source_digest}, cacheable=source_digest is not None),
        build("validate", impl=f"{_STEPS}.validate:run", inputs={"frame": "ingest.frame"},
              outputs=("frame", "report"),
              params={"expectations": dump(spec.expectations), "target": target,
                      "timestamp": spec.data.timestamp}),
        build("split", impl=f"{_STEPS}.split:run", inputs={"frame": "validate.frame"},
              outputs=("train", "holdout"),
              params={"split": dump(spec.split), "target": target, "timestamp": spec.data.timestamp}),
        build("features", impl=f"{_STEPS}.features:run", inputs={"train": "split.train"},
              outputs=("transformer",), params={"features": features, "target": target},
              code_refs=feature_refs),
    ]
    train_inputs = {"train": "split.train", "transformer": "features.transformer"}
    if spec.sweep is not None:
        nodes.append(build("sweep", impl=f"{_STEPS}.sweep:run_trial", inputs={"train": "split.train"},
                           outputs=("result",),
                           params={"sweep": dump(spec.sweep), "model": dump(spec.model), "features": features,
                                   "target": target, "task": task, "pipeline": spec.name},
                           code_refs=feature_refs, ref_inputs=("train",)))
        train_inputs["sweep"] = "sweep.result"
    nodes += [
        build("train", impl=f"{_STEPS}.train:run", inputs=train_inputs, outputs=("model", "params"),
              params={"model": dump(spec.model), "target": target, "task": task}),
        build("evaluate", impl=f"{_STEPS}.evaluate:run",
              inputs={"model": "train.model", "holdout": "split.holdout"}, outputs=("metrics",),
              params={"evaluation": dump(spec.evaluation), "target": target, "task": task}),
    ]
    register_inputs = {"model": "train.model", "params": "train.params", "metrics": "evaluate.metrics",
                       "train": "split.train", "holdout": "split.holdout", "report": "validate.report",
                       "validated": "validate.frame"}
    if spec.sweep is not None:
        register_inputs["sweep"] = "sweep.result"
    nodes.append(build("register", impl=f"{_STEPS}.register:run", inputs=register_inputs,
                       outputs=("registration",),
                       params={"spec_text": spec_text, "spec_filename": spec_filename,
                               "source_digest": source_digest, "target": target},
                       ref_inputs=("validated",)))
    if spec.promotion is not None:
        nodes.append(build("gate", impl=f"{_STEPS}.gate:run", inputs={"registration": "register.registration"},
                           outputs=("report",), params={"promotion": dump(spec.promotion),
                                                                "deployment": dump(spec.deployment)
                                                                if spec.deployment else None}))
    return tuple(nodes)


def _user_step(step: UserStep, spec: PipelineSpec) -> StepNode:
    """The step's own settings first, then its ``step_options`` entry, then the pipeline's defaults."""
    options = spec.step_options.get(step.name)
    if options is not None and options.inputs:
        raise SpecError(f"step_options.{step.name}.inputs rewires a built-in step's inputs; '{step.name}' is "
                        "your own step", hint=f"set the inputs of '{step.name}' under steps: instead")

    def chosen(field: str, default: Any) -> Any:
        for source in (step, options):
            value = getattr(source, field, None) if source is not None else None
            if value is not None:
                return value
        return default

    return StepNode(
        name=step.name, kind="user", impl=step.function, inputs=dict(step.inputs), outputs=tuple(step.outputs),
        params=dict(step.params), code_refs=(step.function,),
        resources=_resources(chosen("resources", spec.resources)), retries=chosen("retries", spec.retries),
        timeout=chosen("timeout", spec.timeout), user_code=True,
    )


def upstream_steps(spec_text: str) -> dict[str, list[str]] | None:
    """Each step's upstream steps in the DAG ``spec_text`` compiles to; None when it does not compile (any more)."""
    try:
        loaded = parse_spec(spec_text)
        dag = compile_spec(loaded.spec, spec_text=spec_text, spec_filename="pipeline.yaml", source_digest=None)
    except ShipyardError:
        return None
    return {node.name: sorted(node.upstream()) for node in dag.nodes}
