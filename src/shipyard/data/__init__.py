"""The data plane: read sources, check expectations, split, build feature transformers.

The names below load their modules (and pandas, scikit-learn) on first use, so that
importing ``shipyard.data`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "BucketizeTransformer": "shipyard.data.transformers",
    "ClipTransformer": "shipyard.data.transformers",
    "LogTransformer": "shipyard.data.transformers",
    "build_feature_transformer": "shipyard.data.features",
    "call_user": "shipyard.data.usercode",
    "feature_input_columns": "shipyard.data.features",
    "read_source": "shipyard.data.sources",
    "resolve_function": "shipyard.data.usercode",
    "source_files": "shipyard.data.sources",
    "source_fingerprint": "shipyard.data.sources",
    "split_frame": "shipyard.data.split",
    "validate_frame": "shipyard.data.expectations",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from shipyard.data.expectations import validate_frame
    from shipyard.data.features import build_feature_transformer, feature_input_columns
    from shipyard.data.sources import read_source, source_files, source_fingerprint
    from shipyard.data.split import split_frame
    from shipyard.data.transformers import BucketizeTransformer, ClipTransformer, LogTransformer
    from shipyard.data.usercode import call_user, resolve_function


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'shipyard.data' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
