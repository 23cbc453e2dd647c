"""The pipeline YAML: load, validate, JSON Schema.

The names below load their modules (and the whole spec model) on first use, so that a
command needing only one section's model, such as ``monitoring:``, starts quickly.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "LoadedSpec": "shipyard.spec.loader",
    "PipelineSpec": "shipyard.spec.models",
    "json_schema": "shipyard.spec.schema",
    "load_spec": "shipyard.spec.loader",
    "parse_spec": "shipyard.spec.loader",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from shipyard.spec.loader import LoadedSpec, load_spec, parse_spec
    from shipyard.spec.models import PipelineSpec
    from shipyard.spec.schema import json_schema


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'shipyard.spec' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
