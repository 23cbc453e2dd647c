"""The fitted feature transform in NumPy, for versions served by scikit-learn.

For one row, ``ColumnTransformer.transform`` spends milliseconds selecting pandas columns,
validating each branch's input and stacking the results; the arithmetic is microseconds.
A fitted ``Pipeline([ColumnTransformer, ..., estimator])`` whose branches use only
imputers, scalers, one-hot encoders and shipyard's log, clip and bucketize transforms is
turned, once at load, into column indices and the fitted statistics; a request's columns
then become the estimator's input matrix without a DataFrame. The rest of the pipeline
(after the ColumnTransformer) runs as scikit-learn runs it.

The NumPy path is used only when it reproduces scikit-learn's feature matrix exactly, and
its labels and probabilities, on rows drawn from the version's reference profile (unseen
categories and missing values included); otherwise the version keeps scikit-learn's path.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

_NUMERIC = frozenset({"double", "float", "long", "integer", "boolean"})
Step = Callable[[np.ndarray], np.ndarray]


class Unsupported(Exception):
    """The fitted pipeline holds something the NumPy path does not reproduce."""


@dataclass
class FeatureRows:
    """Request rows as the estimator's input matrix; batches concatenate."""

    matrix: np.ndarray

    def __len__(self) -> int:
        return self.matrix.shape[0]

    @staticmethod
    def concat(parts: list[FeatureRows]) -> FeatureRows:
        return FeatureRows(np.concatenate([p.matrix for p in parts]))


@dataclass(frozen=True)
class _Branch:
    columns: tuple[str, ...]
    steps: tuple[Step, ...]
    text: bool  # the branch starts from an object block (some column is text)


class NumpyFeatures:
    """The fitted ColumnTransformer of a pipeline as NumPy steps, and the pipeline after it."""

    def __init__(self, branches: list[_Branch], signature: dict[str, str], tail: Any):
        self.branches, self.signature, self.tail = branches, signature, tail

    def rows(self, columns: dict[str, list]) -> FeatureRows:
        rows = len(next(iter(columns.values())))
        blocks = [self._block(branch, columns, rows) for branch in self.branches]
        return FeatureRows(np.hstack(blocks) if len(blocks) > 1 else blocks[0])

    def _block(self, branch: _Branch, columns: dict[str, list], rows: int) -> np.ndarray:
        if branch.text:
            block = np.empty((rows, len(branch.columns)), dtype=object)
            for j, name in enumerate(branch.columns):
                block[:, j] = [np.nan if v is None else v for v in columns[name]]
        else:
            block = np.array([columns[name] for name in branch.columns], dtype="float64").T  # None → NaN
        for step in branch.steps:
            block = step(block)
        if block.dtype != np.float64:
            block = block.astype("float64")
        return block.reshape(rows, -1)

    def predict(self, prepared: FeatureRows) -> dict[str, np.ndarray]:
        if hasattr(self.tail, "predict_proba") and hasattr(self.tail, "classes_"):
            proba = np.asarray(self.tail.predict_proba(prepared.matrix), dtype="float64")
            return {"predict": np.asarray(self.tail.classes_)[proba.argmax(axis=1)], "predict_proba": proba}
        return {"predict": np.asarray(self.tail.predict(prepared.matrix))}


def build(estimator: Any, signature: dict[str, str]) -> NumpyFeatures:
    """The NumPy path of ``estimator`` (raises :class:`Unsupported` when there is none)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    if not isinstance(estimator, Pipeline) or len(estimator.steps) < 2 \
            or not isinstance(estimator.steps[0][1], ColumnTransformer):
        raise Unsupported("not a Pipeline that starts with a ColumnTransformer")
    features = estimator.steps[0][1]
    if getattr(features, "_sklearn_output_config", {}).get("transform", "default") != "default":
        raise Unsupported("the ColumnTransformer outputs DataFrames")
    tail = estimator[1:]
    if getattr(tail, "feature_names_in_", None) is not None:
        raise Unsupported("the steps after the ColumnTransformer were fitted with column names")
    names_in = list(getattr(features, "feature_names_in_", signature))
    branches = []
    for name, transformer, selected in features.transformers_:
        if transformer == "drop":
            continue
        columns = _column_names(selected, names_in)
        if not columns:
            continue
        if any(column not in signature for column in columns):
            raise Unsupported(f"branch {name} reads columns outside the signature")
        steps = [] if transformer == "passthrough" else _steps(transformer)
        branches.append(_Branch(tuple(columns), tuple(steps),
                                text=any(signature[c] not in _NUMERIC for c in columns)))
    if not branches:
        raise Unsupported("no branch produces features")
    return NumpyFeatures(branches, dict(signature), tail)


def _column_names(selected: Any, names_in: list[str]) -> list[str]:
    if isinstance(selected, str):
        return [selected]
    values = list(np.asarray(selected).reshape(-1)) if not callable(selected) else None
    if values is None:
        raise Unsupported("a callable column selector")
    if values and all(isinstance(v, (bool, np.bool_)) for v in values):
        return [n for n, keep in zip(names_in, values) if keep]
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
        return [names_in[int(i)] for i in values]
    if all(isinstance(v, str) for v in values):
        return [str(v) for v in values]
    raise Unsupported("a column selector of mixed kinds")


def _steps(transformer: Any) -> list[Step]:
    from sklearn.pipeline import Pipeline

    parts = [step for _, step in transformer.steps] if isinstance(transformer, Pipeline) else [transformer]
    steps = []
    for part in parts:
        if part == "passthrough" or part is None:
            continue
        maker = _MAKERS.get(type(part).__name__)
        if maker is None or type(part).__module__.split(".")[0] not in ("sklearn", "shipyard"):
            raise Unsupported(f"no NumPy path for {type(part).__name__}")
        steps.append(maker(part))
    return steps


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _imputer(imputer) -> Step:
    if getattr(imputer, "add_indicator", False):
        raise Unsupported("an imputer that adds indicator columns")
    missing = imputer.missing_values
    if not (isinstance(missing, float) and math.isnan(missing)):
        raise Unsupported("an imputer of a value other than NaN")
    statistics = np.asarray(imputer.statistics_)
    if statistics.dtype.kind == "f" and np.isnan(statistics).any() and not imputer.keep_empty_features:
        raise Unsupported("an imputer that drops an all-missing column")

    def impute(block: np.ndarray) -> np.ndarray:
        if block.dtype == object:
            out = block.copy()
            for j in range(out.shape[1]):
                for i in range(out.shape[0]):
                    if _is_missing(out[i, j]):
                        out[i, j] = statistics[j]
            return out if statistics.dtype == object else out.astype("float64")
        return np.where(np.isnan(block), statistics.astype("float64"), block)

    return impute


def _numeric(block: np.ndarray) -> np.ndarray:
    return block if block.dtype == np.float64 else block.astype("float64")


def _standard(scaler) -> Step:
    mean = scaler.mean_ if scaler.with_mean else None
    scale = scaler.scale_ if scaler.with_std else None

    def standard(block: np.ndarray) -> np.ndarray:
        block = _numeric(block).copy()
        if mean is not None:
            block -= mean
        if scale is not None:
            block /= scale
        return block

    return standard


def _minmax(scaler) -> Step:
    low, high = scaler.feature_range

    def minmax(block: np.ndarray) -> np.ndarray:
        block = _numeric(block) * scaler.scale_
        block += scaler.min_
        return np.clip(block, low, high, out=block) if scaler.clip else block

    return minmax


def _robust(scaler) -> Step:
    def robust(block: np.ndarray) -> np.ndarray:
        block = _numeric(block).copy()
        if scaler.with_centering:
            block -= scaler.center_
        if scaler.with_scaling:
            block /= scaler.scale_
        return block

    return robust


def _one_hot(encoder) -> Step:
    if encoder.drop_idx_ is not None:
        raise Unsupported("a one-hot encoder that drops a category")
    if getattr(encoder, "_infrequent_enabled", False) and \
            any(c is not None for c in encoder.infrequent_categories_):
        raise Unsupported("a one-hot encoder with infrequent categories")
    if encoder.handle_unknown not in ("ignore", "infrequent_if_exist"):
        raise Unsupported("a one-hot encoder that refuses unknown categories")
    lookups, missing_at, offsets = [], [], [0]
    for categories in encoder.categories_:
        lookup, at = {}, None
        for j, category in enumerate(categories.tolist()):
            if _is_missing(category):
                at = j
            else:
                lookup[category] = j
        lookups.append(lookup)
        missing_at.append(at)
        offsets.append(offsets[-1] + len(categories))

    def one_hot(block: np.ndarray) -> np.ndarray:
        rows = block.shape[0]
        out = np.zeros((rows, offsets[-1]), dtype="float64")
        for j, lookup in enumerate(lookups):
            for i in range(rows):
                value = block[i, j]
                hit = missing_at[j] if _is_missing(value) else lookup.get(value)
                if hit is not None:
                    out[i, offsets[j] + hit] = 1.0
        return out

    return one_hot


def _identity(transformer) -> Step:
    """A FunctionTransformer without a function: how a fitted ColumnTransformer holds a passthrough branch."""
    if transformer.func is not None or getattr(transformer, "validate", False):
        raise Unsupported("no NumPy path for FunctionTransformer with a function")
    return lambda block: block


def _column_wise(transformer) -> Step:
    def apply(block: np.ndarray) -> np.ndarray:
        return transformer._apply(_numeric(block))

    return apply


_MAKERS: dict[str, Callable[[Any], Step]] = {
    "SimpleImputer": _imputer, "StandardScaler": _standard, "MinMaxScaler": _minmax, "RobustScaler": _robust,
    "OneHotEncoder": _one_hot, "LogTransformer": _column_wise, "ClipTransformer": _column_wise,
    "BucketizeTransformer": _column_wise, "FunctionTransformer": _identity,
}


def try_numpy_features(loaded, sample: dict[str, list]) -> tuple[NumpyFeatures | None, str]:
    """The verified NumPy path of ``loaded`` (or None) and, when there is none, why.

    Verified on ``sample``: the feature matrix equal to the ColumnTransformer's, the labels equal
    and the probabilities equal to scikit-learn's."""
    try:
        fast = build(loaded.estimator, loaded.signature)
    except Unsupported as exc:
        return None, str(exc)
    features = loaded.estimator.steps[0][1]
    try:
        frame = loaded.frame(sample)
        expected_matrix = features.transform(frame)
        expected = loaded.predict(frame)
    except Exception:  # scikit-learn itself cannot take some rows: verify on the complete ones
        complete = [i for i in range(len(next(iter(sample.values()))))
                    if all(column[i] is not None for column in sample.values())]
        sample = {name: [column[i] for i in complete] for name, column in sample.items()}
        try:
            frame = loaded.frame(sample)
            expected_matrix = features.transform(frame)
            expected = loaded.predict(frame)
        except Exception as exc:
            return None, f"scikit-learn cannot transform the verification rows ({type(exc).__name__})"
    try:
        prepared = fast.rows(sample)
        got = fast.predict(prepared)
    except Exception as exc:
        return None, f"the NumPy path failed on the verification rows ({type(exc).__name__}: {exc})"
    if hasattr(expected_matrix, "toarray"):
        expected_matrix = expected_matrix.toarray()
    if not _same(prepared.matrix, np.asarray(expected_matrix, dtype="float64")):
        return None, "the NumPy features differ from the ColumnTransformer's"
    for name, values in expected.items():
        if name not in got or not _same(np.asarray(got[name]), np.asarray(values)):
            return None, f"the NumPy path's {name} differs from scikit-learn's"
    return fast, ""


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    if a.shape != b.shape:
        return False
    if a.dtype.kind in "fc" and b.dtype.kind in "fc":
        return bool(np.array_equal(a, b, equal_nan=True))
    return bool(np.array_equal(a.astype(str), b.astype(str)))
