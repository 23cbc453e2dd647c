"""A registered version loaded for serving: the verified model, its input signature, a warm-up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from shipyard.config import Settings
from shipyard.errors import RefusedError

_PANDAS_TYPES = {"long": "Int64", "integer": "Int64", "double": "float64", "float": "float64",
                 "string": "object", "boolean": "boolean"}


@dataclass
class LoadedVersion:
    model: str
    version: str
    estimator: Any
    signature: dict[str, str]

    @property
    def columns(self) -> list[str]:
        return list(self.signature)

    def frame(self, columns: dict[str, list]) -> pd.DataFrame:
        if all(kind in ("double", "float") for kind in self.signature.values()):
            # one float block (None → NaN): much cheaper to build, and to validate inside sklearn
            matrix = np.array([columns[name] for name in self.signature], dtype="float64")
            return pd.DataFrame(matrix.T, columns=self.columns)
        data = {}
        for name, kind in self.signature.items():
            values = columns[name]
            if kind in ("double", "float"):
                data[name] = np.asarray([np.nan if v is None else v for v in values], dtype="float64")
            elif kind in ("long", "integer"):
                data[name] = pd.array(values, dtype="Int64").astype("float64") if None in values \
                    else np.asarray(values, dtype="int64")
            else:
                data[name] = pd.Series(values, dtype="object")
        return pd.DataFrame(data)

    def predict(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        """Labels, plus class probabilities for classifiers: one pass, labels taken from the probabilities."""
        if hasattr(self.estimator, "predict_proba") and hasattr(self.estimator, "classes_"):
            proba = np.asarray(self.estimator.predict_proba(frame), dtype="float64")
            return {"predict": np.asarray(self.estimator.classes_)[proba.argmax(axis=1)], "predict_proba": proba}
        return {"predict": np.asarray(self.estimator.predict(frame))}


def _warm_row(signature: dict[str, str]) -> dict[str, list]:
    defaults = {"long": 0, "integer": 0, "double": 0.0, "float": 0.0, "string": "", "boolean": False}
    return {name: [defaults.get(kind)] for name, kind in signature.items()}


def load_for_serving(model: str, version: str | int, *, settings: Settings | None = None) -> LoadedVersion:
    """Load (digest-checked), read the signature, and warm the version up with one prediction."""
    from shipyard.registry.gating import version_signature
    from shipyard.registry.loading import load_model_version

    version = str(version)
    estimator = load_model_version(model, version, settings=settings)
    signature = version_signature(model, version)
    if not signature:
        raise RefusedError(f"{model} version {version} has no input signature, so requests cannot be validated",
                           hint="register it through a shipyard pipeline run")
    loaded = LoadedVersion(model=model, version=version, signature=signature, estimator=estimator)
    try:
        loaded.predict(loaded.frame(_warm_row(signature)))
    except Exception as exc:
        raise RefusedError(f"{model} version {version} failed its warm-up prediction: {exc}") from exc
    return loaded
