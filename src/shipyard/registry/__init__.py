"""Registered model versions: safe serialization, registration, verified loading, lineage.

Names are imported on first use, so importing this package does not import MLflow or skops.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "TRUSTED_MODULE_PREFIXES": "shipyard.registry.trust",
    "dumps_safe": "shipyard.registry.trust",
    "get_model_version": "shipyard.registry.versions",
    "get_version_tags": "shipyard.registry.versions",
    "load_model_version": "shipyard.registry.loading",
    "loads_safe": "shipyard.registry.trust",
    "model_lineage": "shipyard.registry.lineage",
    "trusted_types_for": "shipyard.registry.trust",
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
