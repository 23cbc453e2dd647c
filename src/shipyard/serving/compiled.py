"""A compiled predict path: the fitted scikit-learn pipeline converted to ONNX and run by ONNX Runtime.

For one row, scikit-learn's per-call overhead (pandas column selection, input
validation, a booster's thread pool) costs milliseconds where the arithmetic costs
microseconds. A version whose inputs are numbers and strings is converted (skl2onnx,
with :mod:`shipyard.serving.onnx_converters` for LightGBM, XGBoost and shipyard's own
transformers) when it is loaded; the conversion is used only if it reproduces
scikit-learn's labels and probabilities on rows drawn from the version's reference
profile, unseen categories and missing values included (to 1e-6 in double precision, which
leaves room for XGBoost's own float32 sums; to 1e-5 where a converter emits float32 only);
otherwise the version is served by scikit-learn as before. Needs the ``onnx`` extra.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from shipyard.serving.onnx_converters import MISSING_STRING

log = logging.getLogger(__name__)
_NUMERIC = frozenset({"double", "float", "long", "integer", "boolean"})
_TEXT = frozenset({"string"})
_UNSEEN = "\x00unseen"  # a category no training set has, to check how the conversion treats unknown values


@dataclass
class Feeds:
    """Request rows as one column per input (numbers as floats, text as strings) for ONNX Runtime; batches
    concatenate."""

    columns: dict[str, np.ndarray]
    rows: int

    def __len__(self) -> int:
        return self.rows

    @staticmethod
    def concat(parts: list[Feeds]) -> Feeds:
        names = parts[0].columns
        return Feeds({n: np.concatenate([p.columns[n] for p in parts]) for n in names}, sum(p.rows for p in parts))


class CompiledPredictor:
    def __init__(self, session, names: list[str], classes: np.ndarray | None, dtype: str,
                 text: frozenset[str] = frozenset()):
        self.session, self.names, self.classes, self.dtype, self.text = session, names, classes, dtype, text

    def feeds(self, columns: dict[str, list]) -> Feeds:
        arrays = {}
        for name in self.names:
            values = columns[name]
            if name in self.text:
                if None in values:
                    values = [MISSING_STRING if v is None else v for v in values]
                arrays[name] = np.array(values, dtype=object).reshape(-1, 1)
            else:
                arrays[name] = np.array(values, dtype=self.dtype).reshape(-1, 1)  # None becomes NaN
        return Feeds(arrays, len(arrays[self.names[0]]))

    def predict(self, feeds: Feeds) -> dict[str, np.ndarray]:
        outputs = self.session.run(None, feeds.columns)
        if self.classes is None:
            return {"predict": np.asarray(outputs[0]).reshape(-1)}
        proba = np.asarray(outputs[1], dtype="float64")
        return {"predict": self.classes[proba.argmax(axis=1)], "predict_proba": proba}


def sample_rows(signature: dict[str, str], profile: dict[str, Any] | None, rows: int = 256) -> dict[str, list]:
    """Inputs spread over each feature's training range (bin edges and beyond) or over its categories (and one
    never seen), with some missing values."""
    rng = np.random.default_rng(0)
    sample = {}
    for name, kind in signature.items():
        reference = (profile or {}).get("features", {}).get(name) or {}
        if kind in _TEXT:
            categories = [str(c) for c in reference.get("categories", [])] + [_UNSEEN]
            column = [categories[i % len(categories)] for i in range(rows)]
            rng.shuffle(column)
        else:
            column = _numbers(reference, rng, rows, integral=kind != "double" and kind != "float")
            if kind == "boolean":
                column = [bool(v > 0.5) for v in column]
        for i in rng.choice(rows, size=max(1, rows // 20), replace=False):
            column[i] = None
        sample[name] = column
    return sample


def _numbers(reference: dict[str, Any], rng, rows: int, *, integral: bool) -> list:
    points = [v for v in [reference.get("min"), *reference.get("cuts", []), reference.get("max")] if v is not None]
    if len(points) < 2:
        points = [-1.0, 0.0, 1.0]
    low, high = min(points), max(points)
    span = (high - low) or 1.0
    values = np.concatenate([np.asarray(points, dtype="float64"),
                             rng.uniform(low - 0.1 * span, high + 0.1 * span, rows - len(points))])[:rows]
    return [int(v) for v in np.round(values)] if integral else values.tolist()


def compile_version(loaded, profile: dict[str, Any] | None = None) -> CompiledPredictor | None:
    """A verified ONNX predictor for ``loaded``, or None (not installed, not convertible, or not faithful)."""
    return try_compile(loaded, profile)[0]


def try_compile(loaded, profile: dict[str, Any] | None = None) -> tuple[CompiledPredictor | None, str]:
    """A verified ONNX predictor for ``loaded`` (or None) and, when there is none, why."""
    other = sorted({kind for kind in loaded.signature.values()} - _NUMERIC - _TEXT)
    if other:
        return None, f"no ONNX input for {', '.join(other)} columns"
    try:
        import onnxruntime  # noqa: F401
        import skl2onnx  # noqa: F401
    except ImportError:
        return None, "the onnx extra is not installed"
    from shipyard.serving.onnx_converters import register

    register()
    sample = sample_rows(loaded.signature, profile)
    try:
        expected = loaded.predict(loaded.frame(sample))
    except Exception as exc:  # e.g. a pipeline that cannot take a missing value: verify on complete rows
        complete = [i for i in range(len(next(iter(sample.values()))))
                    if all(column[i] is not None for column in sample.values())]
        sample = {name: [column[i] for i in complete] for name, column in sample.items()}
        try:
            expected = loaded.predict(loaded.frame(sample))
        except Exception:
            return None, f"scikit-learn cannot predict the verification rows ({_first_line(exc)})"
    reason = "not convertible"
    # double precision first; float32 where a converter only emits float32 operators
    for dtype, tolerance in (("float64", 1e-6), ("float32", 1e-5)):
        try:
            predictor = _convert(loaded, dtype)
            compiled = predictor.predict(predictor.feeds(sample))
        except Exception as exc:  # an unsupported step, a converter gap: try the next precision
            reason = _first_line(exc)
            continue
        if _agrees(compiled, expected, tolerance):
            return predictor, ""
        reason = f"the {dtype} conversion disagrees with scikit-learn"
    log.info("%s v%s is served by scikit-learn (ONNX: %s)", loaded.model, loaded.version, reason)
    return None, reason


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:200] if str(exc).strip() else type(exc).__name__


def _convert(loaded, dtype: str) -> CompiledPredictor:
    import onnxruntime
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType, StringTensorType

    estimator = loaded.estimator
    final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    classes = np.asarray(final.classes_) if hasattr(final, "classes_") else None
    names = list(loaded.signature)
    tensor = DoubleTensorType if dtype == "float64" else FloatTensorType
    options = {id(final): {"zipmap": False}} if classes is not None else None
    text = frozenset(n for n in names if loaded.signature[n] in _TEXT)
    inputs = [(n, StringTensorType([None, 1]) if n in text else tensor([None, 1])) for n in names]
    model = convert_sklearn(estimator, initial_types=inputs, options=options,
                            target_opset={"": 17, "ai.onnx.ml": 3})
    settings = onnxruntime.SessionOptions()
    settings.intra_op_num_threads = settings.inter_op_num_threads = 1
    settings.log_severity_level = 4  # a failing run raises; verification expects some to fail, quietly
    session = onnxruntime.InferenceSession(model.SerializeToString(), settings, providers=["CPUExecutionProvider"])
    return CompiledPredictor(session, names, classes, dtype, text)


def _agrees(compiled: dict[str, np.ndarray], expected: dict[str, np.ndarray], tolerance: float) -> bool:
    if "predict_proba" in expected:
        return (np.array_equal(np.asarray(compiled["predict"]).astype(str),
                               np.asarray(expected["predict"]).astype(str))
                and np.allclose(compiled["predict_proba"], expected["predict_proba"], rtol=tolerance,
                                atol=tolerance))
    return np.allclose(np.asarray(compiled["predict"], dtype="float64").reshape(-1),
                       np.asarray(expected["predict"], dtype="float64").reshape(-1), rtol=tolerance, atol=tolerance)
