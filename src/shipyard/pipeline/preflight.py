"""Everything about a pipeline that can be known without training, checked at once.

``shipyard validate`` runs these checks, and a run does too, in a worker before its
first step: the data source's columns (from a header or schema, never its rows), the
estimator and its parameters, that the task computes every metric a sweep, an
evaluation or a gate names, and that the user's functions import and take their arguments.
"""

from __future__ import annotations

import difflib
import inspect
from pathlib import Path
from typing import Any

from shipyard.data.columns import closest, describe_columns
from shipyard.errors import DataError, ShipyardError, SpecError
from shipyard.spec.findings import Finding, findings_error
from shipyard.spec.loader import LoadedSpec
from shipyard.spec.metrics import task_metrics
from shipyard.spec.models import BUILTIN_STEPS, CsvSource, ParquetSource, PipelineSpec
from shipyard.spec.promotion import parse_rule


def check(*, loaded: LoadedSpec, read_data: bool = True, source: str | None = None) -> None:
    """Raise one error listing every finding, each at its file:line:col."""
    findings = find_problems(loaded, read_data=read_data)
    if findings:
        raise findings_error(findings, text=loaded.text, source=source or _shown(loaded.path))


def find_problems(loaded: LoadedSpec, *, read_data: bool = True) -> list[Finding]:
    """Every finding, in no particular order; ``read_data=False`` leaves the data source alone."""
    from shipyard.pipeline.runner import add_to_path

    spec = loaded.spec
    add_to_path(loaded.base_dir)
    findings = _user_code_problems(spec)
    if not spec.trains_model:
        return findings
    findings += (_model_problems(spec) + _metric_problems(spec) + _contract_problems(spec, loaded.base_dir)
                 + _shadow_problems(spec))
    if read_data:
        findings += _data_problems(spec, loaded.base_dir)
    return findings


# ---------------------------------------------------------------- the rollout plan


def _shadow_problems(spec: PipelineSpec) -> list[Finding]:
    """A rollout plan may ask for more shadow than the platform's mandatory stage, never less."""
    from shipyard.config import load_settings

    required = load_settings().min_shadow_s
    if spec.deployment is None or not required:
        return []
    hint = (f"the platform requires every rollout to mirror traffic for {required:g} s first "
            "(SHIPYARD_MIN_SHADOW); a team admin may skip or shorten it for one version: shipyard models "
            "override-shadow MODEL VERSION --reason TEXT")
    if spec.deployment.shadow is None:
        return [Finding(path=("deployment",), at_key=True, hint=hint,
                        message=f"the rollout plan has no shadow phase; add 'shadow: {{duration_s: {required:g}}}'")]
    if spec.deployment.shadow.duration_s < required:
        return [Finding(path=("deployment", "shadow", "duration_s"), hint=hint,
                        message=f"a shadow phase of {spec.deployment.shadow.duration_s:g} s is shorter than the "
                                f"platform's min_shadow of {required:g} s")]
    return []


# ---------------------------------------------------------------- the model


def _model_problems(spec: PipelineSpec) -> list[Finding]:
    from shipyard.pipeline.estimators import check_task, describe_params, resolve_estimator, unknown_params

    try:
        cls = resolve_estimator(spec.model)
    except SpecError as exc:
        return [Finding(path=("model", "estimator"), message=exc.message, hint=exc.hint)]
    if not (hasattr(cls, "fit") and hasattr(cls, "predict")):
        return [Finding(path=("model", "estimator"), message=f"'{spec.model.estimator}' is not an estimator: "
                                                             "it has no fit and predict methods",
                        hint="name a scikit-learn compatible estimator class")]
    unknown = unknown_params(cls, spec.model.params)
    findings = [Finding(path=("model", "params", name), at_key=True,
                        message=f"{cls.__name__} takes no parameter '{name}'"
                                + (f"; did you mean '{close}'?" if close else ""),
                        hint=describe_params(cls))
                for name, close in unknown.items()]
    try:
        estimator = cls(**{name: value for name, value in spec.model.params.items() if name not in unknown})
    except Exception as exc:
        findings.append(Finding(path=("model", "params"), at_key=True,
                                message=f"{cls.__name__} does not accept these parameters: {exc}"))
    else:
        try:
            check_task(spec.model, estimator, spec.task(), declared=spec.model.task is not None)
        except SpecError as exc:
            where = ("model", "task") if spec.model.task is not None else ("model", "estimator")
            findings.append(Finding(path=where, message=exc.message, hint=exc.hint))
    if spec.sweep is not None:
        findings += [Finding(path=("sweep", "space", name), at_key=True,
                             message=f"the sweep tunes '{name}', which {cls.__name__} does not take"
                                     + (f"; did you mean '{close}'?" if close else ""),
                             hint=describe_params(cls))
                     for name, close in unknown_params(cls, spec.sweep.space).items()]
    return findings


# ---------------------------------------------------------------- metrics


def _metric_problems(spec: PipelineSpec) -> list[Finding]:
    task = spec.task()
    known = tuple(task_metrics(task))
    named: list[tuple[tuple[str | int, ...], str, str]] = []
    named += [(("evaluation", "metrics", i), name, "evaluation.metrics names")
              for i, name in enumerate(spec.evaluation.metrics or ())]
    if spec.sweep is not None:
        named.append((("sweep", "metric"), spec.sweep.metric, "the sweep optimizes"))
    if spec.promotion is not None:
        gates = spec.promotion.gates
        named += [(("promotion", "gates", "thresholds", i), parse_rule(rule)[0], f"the threshold '{rule}' is on")
                  for i, rule in enumerate(gates.thresholds)]
        if gates.champion is not None:
            named.append((("promotion", "gates", "champion", "metric"), gates.champion.metric,
                          "the champion gate compares"))
        if gates.slices is not None:
            named.append((("promotion", "gates", "slices", "metric"), gates.slices.metric,
                          "the slice guard compares"))
    return [Finding(path=path, message=f"{what} '{name}', which a {task} model never computes"
                                       + _did_you_mean(name, known),
                    hint=f"{task} metrics: {', '.join(known)}")
            for path, name, what in named if name not in known]


# ---------------------------------------------------------------- user code


def _user_code_problems(spec: PipelineSpec) -> list[Finding]:
    findings = []
    for i, group in enumerate(spec.features or ()):
        if group.function:
            findings += _function_problems(("features", i, "function"), group.function, {})
    for i, step in enumerate(spec.steps):
        arguments = {**{name: None for name in step.inputs}, **step.params}
        findings += _function_problems(("steps", i, "function"), step.function, arguments)
    return findings


def _function_problems(path: tuple[str | int, ...], ref: str, arguments: dict[str, Any]) -> list[Finding]:
    """The function imports and can be called with exactly ``arguments``, as the step will call it."""
    from shipyard.data.usercode import resolve_function

    try:
        function = resolve_function(ref)
    except ShipyardError as exc:
        return [Finding(path=path, message=exc.message, hint=exc.hint, kind=type(exc))]
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return []
    try:
        signature.bind_partial(**arguments)  # names an unexpected argument before a missing one
        signature.bind(**arguments)
    except TypeError as exc:
        given = ", ".join(arguments) or "no arguments"
        return [Finding(path=path, message=f"'{ref}' cannot be called with {given}: {exc}",
                        hint=f"its signature is {function.__name__}{signature}")]
    return []


# ---------------------------------------------------------------- files next to the spec


def _contract_problems(spec: PipelineSpec, base_dir: Path) -> list[Finding]:
    gate = spec.promotion.gates.schema_contract if spec.promotion is not None else None
    if gate is None or not gate.contract:
        return []
    path = (Path(base_dir) / gate.contract).resolve()
    if path.is_file():
        return []
    return [Finding(path=("promotion", "gates", "schema", "contract"),
                    message=f"the schema contract {path} does not exist",
                    hint="the contract path is relative to the spec file's folder; fix it or create the file")]


# ---------------------------------------------------------------- the data


def _data_problems(spec: PipelineSpec, base_dir: Path) -> list[Finding]:
    from shipyard.data.sources import source_columns

    source = spec.data.source
    try:
        columns = source_columns(spec.data, base_dir)
    except ShipyardError as exc:
        where = ("data", "source", "path") if isinstance(source, (CsvSource, ParquetSource)) else ("data", "source")
        return [Finding(path=where, message=exc.message, hint=exc.hint, kind=type(exc))]
    wanted: list[tuple[tuple[str | int, ...], str, bool]] = [(("data", "target"), spec.data.target, False)]
    if spec.data.timestamp:
        wanted.append((("data", "timestamp"), spec.data.timestamp, False))
    if not _frame_rewired(spec):
        wanted += [(("expectations", "columns", name), name, True) for name in spec.expectations.columns]
        wanted += [(("features", i, "columns", j), name, False)
                   for i, group in enumerate(spec.features) for j, name in enumerate(group.columns)]
        wanted += [(("evaluation", "slices", i), name, False) for i, name in enumerate(spec.evaluation.slices)]
    available = set(columns)
    return [Finding(path=path, at_key=at_key, kind=DataError,
                    message=f"column '{name}' is not in the data" + _closest_column(name, columns),
                    hint=f"the data has: {describe_columns(columns)}")
            for path, name, at_key in wanted if name not in available]


def _frame_rewired(spec: PipelineSpec) -> bool:
    """A built-in step reads a user step's output, so the columns after ingest are not the source's."""
    return any(options.inputs for name, options in spec.step_options.items() if name in BUILTIN_STEPS)


def _closest_column(name: str, columns: list[str]) -> str:
    suggestion = closest(name, columns)
    return f"; did you mean '{suggestion}'?" if suggestion else ""


def _did_you_mean(given: str, options: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(given, list(options), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def _shown(path: Path | None) -> str:
    if path is None:
        return "<string>"
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
