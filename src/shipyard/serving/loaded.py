"""A registered version loaded for serving: the verified model, its input signature, a warm-up."""

from __future__ import annotations

import contextlib
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
    compiled: Any = None  # a CompiledPredictor when the version runs on ONNX Runtime
    numpy_features: Any = None  # a NumpyFeatures when scikit-learn's model is fed by the NumPy feature path
    not_compiled_because: str = ""  # why it runs on scikit-learn instead, when it does
    accepts_missing: frozenset[str] | None = None  # columns it predicts with a value missing (None: not probed)
    outputs: tuple[str, ...] | None = None  # what one prediction returns (None: not probed)
    inline_rows: int = 0  # batches this small are predicted on the event loop (see ``probe``)

    def prepare(self, columns: dict[str, list]):
        """What the batcher queues for these rows: feeds for the compiled path, the feature matrix for the NumPy
        feature path, else a frame."""
        if self.compiled is not None:
            return self.compiled.feeds(columns)
        if self.numpy_features is not None:
            return self.numpy_features.rows(columns)
        return self.frame(columns)

    def predict_prepared(self, prepared) -> dict[str, np.ndarray]:
        if self.compiled is not None:
            return self.compiled.predict(prepared)
        with openmp_threads_for(len(prepared)):
            if self.numpy_features is not None:
                return self.numpy_features.predict(prepared)
            return self.predict(prepared)

    @property
    def runs_on(self) -> str:
        """The predict path, as the gateway's start-up lines name it."""
        if self.compiled is not None:
            return "ONNX Runtime"
        features = ", NumPy features" if self.numpy_features is not None else ""
        return f"scikit-learn{features}" + (f" (ONNX: {self.not_compiled_because})" if self.not_compiled_because
                                             else "")

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
            else:  # missing text is NaN, as pandas reads it for training, so the pipeline's imputer sees it
                data[name] = pd.Series([np.nan if v is None else v for v in values] if None in values else values,
                                       dtype="object")
        return pd.DataFrame(data)

    def predict(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        """Labels, plus class probabilities for classifiers: one pass, labels taken from the probabilities."""
        if hasattr(self.estimator, "predict_proba") and hasattr(self.estimator, "classes_"):
            proba = np.asarray(self.estimator.predict_proba(frame), dtype="float64")
            return {"predict": np.asarray(self.estimator.classes_)[proba.argmax(axis=1)], "predict_proba": proba}
        return {"predict": np.asarray(self.estimator.predict(frame))}


SMALL_BATCH_ROWS = 64
"""Batches up to this many rows (the gateway's largest batch by default) predict on one OpenMP thread."""
_openmp: list = []


def openmp_threads_for(rows: int):
    """One OpenMP thread for a small batch: a model without ``n_jobs`` (scikit-learn's HistGradientBoosting)
    would otherwise start a thread per core for each request, which costs far more than one row's trees.
    Predictions are unchanged; larger batches keep every core."""
    if rows > SMALL_BATCH_ROWS:
        return contextlib.nullcontext()
    if not _openmp:
        find_openmp_runtimes()
    return _openmp[0].limit(limits=1) if _openmp[0].lib_controllers else contextlib.nullcontext()


def find_openmp_runtimes() -> None:
    """Look again for the OpenMP runtimes this process has loaded (once per loaded version: a model's library
    may bring its own)."""
    from threadpoolctl import ThreadpoolController

    _openmp[:] = [ThreadpoolController().select(user_api="openmp")]


def _warm_row(signature: dict[str, str]) -> dict[str, list]:
    defaults = {"long": 0, "integer": 0, "double": 0.0, "float": 0.0, "string": "", "boolean": False}
    return {name: [defaults.get(kind)] for name, kind in signature.items()}


def load_for_serving(model: str, version: str | int, *, settings: Settings | None = None,
                     compile: bool = True) -> LoadedVersion:
    """Load (digest-checked), read the signature, warm the version up with one prediction, and (``compile``)
    switch it to a verified ONNX predictor when one can be built."""
    from shipyard.registry.gating import version_signature
    from shipyard.registry.loading import load_model_version

    version = str(version)
    estimator = load_model_version(model, version, settings=settings)
    find_openmp_runtimes()  # loading may have brought an OpenMP runtime of its own
    signature = version_signature(model, version, settings=settings)
    if not signature:
        raise RefusedError(f"{model} version {version} has no input signature, so requests cannot be validated",
                           hint="register it through a shipyard pipeline run")
    loaded = LoadedVersion(model=model, version=version, signature=signature,
                           estimator=one_thread_per_predict(estimator))
    try:
        loaded.predict(loaded.frame(_warm_row(signature)))
    except Exception as exc:
        raise RefusedError(f"{model} version {version} failed its warm-up prediction: {exc}") from exc
    if compile:
        from shipyard.serving.compiled import sample_rows, try_compile
        from shipyard.serving.numpy_features import try_numpy_features

        profile = _profile(model, version, settings)
        loaded.compiled, loaded.not_compiled_because = try_compile(loaded, profile)
        if loaded.compiled is None:
            loaded.numpy_features = try_numpy_features(loaded, sample_rows(signature, profile))[0]
    else:
        loaded.not_compiled_because = "compilation turned off"
    return probe(loaded)


def one_thread_per_predict(estimator):
    """``estimator`` with every step that takes ``n_jobs`` (LightGBM, XGBoost, forests) predicting on one thread.

    The gateway predicts a request, or a small batch of them, at a time: starting a thread pool for that
    costs more than the rows do (milliseconds for one row on a busy machine, where one thread takes a tenth
    of a millisecond). Predictions are unchanged."""
    steps = [step for _, step in estimator.steps] if hasattr(estimator, "steps") else [estimator]
    for step in steps:
        if hasattr(step, "get_params") and "n_jobs" in step.get_params(deep=False):
            step.set_params(n_jobs=1)
    return estimator


def probe(loaded: LoadedVersion) -> LoadedVersion:
    """Learn what ``loaded`` returns (on its serving path) and the columns it predicts with when that column
    alone is missing, so that a request it cannot take is refused before it reaches the model. Missing values
    are judged by scikit-learn, the reference: a compiled model would answer NaN it was never meant to take."""
    one_row = loaded.prepare(_warm_row(loaded.signature))
    loaded.outputs = tuple(loaded.predict_prepared(one_row))
    loaded.accepts_missing = _columns_accepting_missing(loaded)
    loaded.inline_rows = 1 if _median_seconds(lambda: loaded.predict_prepared(one_row)) < INLINE_PREDICT_S else 0
    return loaded


INLINE_PREDICT_S = 0.0003
"""A version that predicts one row faster than this (the median of a few warm calls) predicts single rows on
the gateway's event loop rather than on its predict thread: the hand-over to the thread and back costs about
as much, and at one connection it is most of the tail. Slower versions keep the loop free while they work."""


def _median_seconds(call, repeat: int = 15) -> float:
    import statistics
    import time

    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _columns_accepting_missing(loaded: LoadedVersion) -> frozenset[str]:
    def predicts(columns: dict[str, list]) -> bool:
        try:
            loaded.predict(loaded.frame(columns))
        except Exception:
            return False
        return True

    names = list(loaded.signature)
    if predicts({name: [None] for name in names}):
        return frozenset(names)
    row = _warm_row(loaded.signature)
    return frozenset(name for name in names if predicts({**row, name: [None]}))


def _profile(model: str, version: str, settings: Settings | None) -> dict | None:
    from shipyard.errors import ShipyardError
    from shipyard.monitoring.references import load_profile

    try:
        return load_profile(model, version, settings=settings)[0]
    except ShipyardError:
        return None
