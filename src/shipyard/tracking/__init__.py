"""Experiment tracking in MLflow: one run per pipeline run, environment capture.

Names are imported on first use, so importing this package does not import MLflow.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "TrackedRun": "shipyard.tracking.pipeline_run",
    "capture_environment": "shipyard.tracking.environment",
    "configure_mlflow": "shipyard.tracking.setup",
    "ensure_experiment": "shipyard.tracking.setup",
    "git_commit": "shipyard.tracking.environment",
    "git_dirty": "shipyard.tracking.environment",
    "log_pipeline_run": "shipyard.tracking.pipeline_run",
    "pip_freeze": "shipyard.tracking.environment",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
