"""shipyard: one YAML file from raw data to a monitored model serving live traffic.

The public API is this module's ``__all__``; everything else is private.
Names are imported on first use so that ``import shipyard`` stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "LoadedSpec": "shipyard.spec.loader",
    "PipelineRun": "shipyard.pipeline.state",
    "PipelineSpec": "shipyard.spec.models",
    "RunOptions": "shipyard.pipeline.runner",
    "Settings": "shipyard.config",
    "ShipyardError": "shipyard.errors",
    "checkpoint": None,
    "compute_drift": "shipyard.monitoring.runs",
    "data_drift": "shipyard.monitoring.datasets",
    "deploy": "shipyard.serving.traffic",
    "get_deployment": "shipyard.serving.deployments",
    "load_model_version": "shipyard.registry.loading",
    "load_settings": "shipyard.config",
    "load_spec": "shipyard.spec.loader",
    "model_lineage": "shipyard.registry.lineage",
    "resume": "shipyard.pipeline.api",
    "run": "shipyard.pipeline.api",
    "set_traffic": "shipyard.serving.traffic",
}
_MODULES = {"checkpoint": "shipyard.pipeline.checkpoint"}
"""Exported names that are modules: ``from shipyard import checkpoint`` inside a step."""

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return import_module(_MODULES[name])
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'shipyard' has no attribute {name!r}")
