"""Estimator classes named in the spec, resolved per flavor, and the full model pipeline."""

from __future__ import annotations

import difflib
import functools
import importlib
import inspect
from typing import Any

from shipyard.errors import SpecError
from shipyard.spec.models import ModelSpec

_FLAVOR_CLASSES = {
    "lightgbm": ("lightgbm", ("LGBMClassifier", "LGBMRegressor", "LGBMRanker")),
    "xgboost": ("xgboost", ("XGBClassifier", "XGBRegressor", "XGBRFClassifier", "XGBRFRegressor")),
}
_FLAVOR_EXTRAS = {"xgboost": "pip install 'shipyard[xgboost]'", "lightgbm": "pip install lightgbm"}


@functools.cache
def _sklearn_estimators() -> dict[str, type]:
    from sklearn.utils.discovery import all_estimators

    return {name: cls for name, cls in all_estimators(type_filter=["classifier", "regressor"])}


def resolve_estimator(model: ModelSpec) -> type:
    name = model.estimator
    if "." in name:
        module_name, _, attr = name.rpartition(".")
        try:
            return getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise SpecError(f"model.estimator '{name}' cannot be imported: {exc}",
                            hint="use a class name such as LGBMClassifier or a full dotted path") from None
    if model.flavor == "sklearn":
        known = _sklearn_estimators()
    else:
        module_name, names = _FLAVOR_CLASSES[model.flavor]
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            raise SpecError(f"model.flavor '{model.flavor}' needs the {module_name} package, which is not installed",
                            hint=_FLAVOR_EXTRAS[model.flavor]) from None
        known = {n: getattr(module, n) for n in names if hasattr(module, n)}
    if name in known:
        return known[name]
    other = next((flavor for flavor, (_, names) in _FLAVOR_CLASSES.items()
                  if flavor != model.flavor and name in names), None)
    if other is not None:
        raise SpecError(f"model.estimator '{name}' is a {other} estimator, but model.flavor is {model.flavor}",
                        hint=f"set model.flavor: {other}, or choose a {model.flavor} estimator")
    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.5)
    suggestion = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
    shown = ", ".join(sorted(known)[:12]) + (", …" if len(known) > 12 else "")
    raise SpecError(f"model.estimator '{name}' is not a {model.flavor} estimator",
                    hint=f"{suggestion}known {model.flavor} estimators: {shown}")


def accepted_params(cls: type) -> set[str] | None:
    """The keyword arguments ``cls`` takes; None when it takes any (``**kwargs``) and no list of them is known.

    LightGBM's estimators pass ``**kwargs`` on to the booster, whose parameters and aliases LightGBM lists.
    """
    parameters = inspect.signature(cls.__init__).parameters.items()
    named = {name for name, p in parameters if name != "self" and p.kind is not inspect.Parameter.VAR_KEYWORD}
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for _, p in parameters):
        return named
    if cls.__module__.partition(".")[0] == "lightgbm":
        booster = _lightgbm_booster_params()
        return None if booster is None else named | booster
    return None


def describe_params(cls: type) -> str:
    """``'X takes: a, b, c'``, naming the constructor's own parameters (not a booster's long list)."""
    parameters = inspect.signature(cls.__init__).parameters.items()
    named = sorted(name for name, p in parameters if name != "self" and p.kind is not inspect.Parameter.VAR_KEYWORD)
    more = ", and the booster parameters LightGBM documents" if cls.__module__.partition(".")[0] == "lightgbm" else ""
    return f"{cls.__name__} takes: {', '.join(named)}{more}"


@functools.cache
def _lightgbm_booster_params() -> frozenset[str] | None:
    try:
        from lightgbm.basic import _ConfigAliases

        aliases = _ConfigAliases._get_all_param_aliases()
    except (ImportError, AttributeError):
        return None
    return frozenset(aliases) | frozenset(alias for names in aliases.values() for alias in names)


def unknown_params(cls: type, names) -> dict[str, str | None]:
    """Each name ``cls`` does not take, with the closest one it does take (or None)."""
    accepted = accepted_params(cls)
    if accepted is None:
        return {}
    return {name: _closest(name, accepted) for name in sorted(set(names) - accepted)}


def _closest(name: str, options: set[str]) -> str | None:
    close = difflib.get_close_matches(name, options, n=1)
    if close:
        return close[0]
    return {option.lower(): option for option in sorted(options)}.get(name.lower())


def make_estimator(model: ModelSpec, *, overrides: dict[str, Any] | None = None, n_jobs: int | None = None):
    cls = resolve_estimator(model)
    params = {**model.params, **(overrides or {})}
    unknown = unknown_params(cls, params)
    accepted = accepted_params(cls)
    if unknown:
        hints = ", ".join(f"'{u}' (did you mean '{c}'?)" if c else f"'{u}'" for u, c in unknown.items())
        raise SpecError(f"model.params has parameters {cls.__name__} does not take: {hints}",
                        hint=describe_params(cls))
    parallel = model.flavor != "sklearn" or cls.__module__.startswith("sklearn.ensemble")
    if parallel and n_jobs is not None and (accepted is None or "n_jobs" in accepted) and "n_jobs" not in params:
        params["n_jobs"] = n_jobs
    if model.flavor == "lightgbm" and "verbose" not in params:
        params["verbose"] = -1
    try:
        return cls(**params)
    except Exception as exc:
        raise SpecError(f"model.params are not accepted by {cls.__name__}: {exc}") from None


def check_task(model: ModelSpec, estimator, task: str, *, declared: bool = True) -> None:
    """``estimator`` (an instance built from ``model``) does ``task``."""
    from sklearn.base import is_classifier, is_regressor

    actual = "classification" if is_classifier(estimator) else "regression" if is_regressor(estimator) else None
    if actual is None or actual == task:
        return
    if not declared:
        raise SpecError(f"could not tell the task of model.estimator '{model.estimator}' from its name",
                        hint=f"declare it: model.task: {actual}")
    raise SpecError(f"model.estimator '{model.estimator}' does {actual}, but model.task is {task}",
                    hint=f"set model.task: {actual} or choose an estimator for {task}")


def model_pipeline(transformer, estimator):
    from sklearn.pipeline import Pipeline

    return Pipeline([("features", transformer), ("estimator", estimator)])
