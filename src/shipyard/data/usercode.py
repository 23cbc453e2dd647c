"""Calling user code: resolve ``module:function`` references and wrap what they raise."""

from __future__ import annotations

import importlib
import traceback
from collections.abc import Callable
from typing import Any

from shipyard.errors import ShipyardError, SpecError, UserCodeError


def resolve_function(ref: str) -> Callable[..., Any]:
    """The callable named by ``'module:function'`` (``module`` may be dotted)."""
    module_name, sep, attribute = ref.partition(":")
    if not sep or not module_name or not attribute:
        raise SpecError(f"'{ref}' is not a function reference; write it as 'module:function'",
                        hint="for example 'features:make_transformer' for make_transformer in features.py")
    module = _import(module_name, ref)
    try:
        function = getattr(module, attribute)
    except AttributeError:
        public = sorted(name for name in vars(module) if not name.startswith("_")
                        and callable(getattr(module, name)))
        raise SpecError(f"module '{module_name}' has no attribute '{attribute}' (from '{ref}')",
                        hint=f"callables it defines: {', '.join(public) or 'none'}") from None
    if not callable(function):
        raise SpecError(f"'{ref}' is a {type(function).__name__}, not a function",
                        hint="point the reference at a function defined in that module")
    return function


def _import(module_name: str, ref: str):
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            raise SpecError(f"no module named '{exc.name}' (from '{ref}')",
                            hint="user modules are found next to the pipeline YAML and on PYTHONPATH; "
                                 "check the file name and that it ends in .py") from None
        raise SpecError(f"module '{module_name}' (from '{ref}') imports '{exc.name}', which is not installed",
                        hint=f"install it in this environment (pip install {exc.name.split('.')[0]})"
                        if exc.name else "install the missing package") from None
    except ImportError as exc:
        raise SpecError(f"module '{module_name}' (from '{ref}') failed to import: {exc}",
                        hint="fix the import inside that module") from None
    except Exception as exc:
        raise _wrap(exc, f"importing module '{module_name}' (from '{ref}')") from exc


def call_user(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """Call ``fn``; anything it raises becomes a :class:`UserCodeError` with the traceback as text.

    Shipyard's own errors raised on purpose by user code pass through unchanged.
    """
    try:
        return fn(*args, **kwargs)
    except ShipyardError:
        raise
    except Exception as exc:
        raise _wrap(exc, f"{_name(fn)}") from exc


def _wrap(exc: BaseException, what: str) -> UserCodeError:
    frames = exc.__traceback__.tb_next if exc.__traceback__ is not None else None
    text = "".join(traceback.format_exception(type(exc), exc, frames))
    where = ""
    if frames is not None:
        last = traceback.extract_tb(frames)[-1]
        where = f" at {last.filename}:{last.lineno} in {last.name}"
    return UserCodeError(f"{what} raised {type(exc).__name__}: {exc}{where}",
                         hint="fix the failing line; run with --debug to see the whole traceback",
                         user_traceback=text)


def _name(fn: Callable[..., Any]) -> str:
    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", None) or type(fn).__name__
    return f"{module}:{qualname}" if module else qualname
