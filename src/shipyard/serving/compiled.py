"""A compiled predict path: the fitted scikit-learn pipeline converted to ONNX and run by ONNX Runtime.

For one row, scikit-learn's per-call overhead (pandas column selection, input
validation) costs milliseconds where the arithmetic costs microseconds. A version
whose inputs are all numbers is converted (skl2onnx, double precision) when it is
loaded; the conversion is used only if it reproduces scikit-learn's labels and
probabilities on rows drawn from the version's reference profile (to 1e-7 in double
precision; to 1e-5 where an operator exists only in float32), otherwise the version is
served by scikit-learn as before. Needs the ``onnx`` extra.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

log = logging.getLogger(__name__)
_NUMERIC = ("double", "float")


@dataclass
class Feeds:
    """Request rows as one float64 column per input, ready for ONNX Runtime; batches concatenate."""

    columns: dict[str, np.ndarray]
    rows: int

    def __len__(self) -> int:
        return self.rows

    @staticmethod
    def concat(parts: list[Feeds]) -> Feeds:
        names = parts[0].columns
        return Feeds({n: np.concatenate([p.columns[n] for p in parts]) for n in names}, sum(p.rows for p in parts))


class CompiledPredictor:
    def __init__(self, session, names: list[str], classes: np.ndarray | None, dtype: str):
        self.session, self.names, self.classes, self.dtype = session, names, classes, dtype

    def feeds(self, columns: dict[str, list]) -> Feeds:
        arrays = {n: np.array(columns[n], dtype=self.dtype).reshape(-1, 1) for n in self.names}
        return Feeds(arrays, len(arrays[self.names[0]]))

    def predict(self, feeds: Feeds) -> dict[str, np.ndarray]:
        outputs = self.session.run(None, feeds.columns)
        if self.classes is None:
            return {"predict": np.asarray(outputs[0]).reshape(-1)}
        proba = np.asarray(outputs[1], dtype="float64")
        return {"predict": self.classes[proba.argmax(axis=1)], "predict_proba": proba}


def _sample_rows(signature: dict[str, str], profile: dict[str, Any] | None, rows: int = 256) -> dict[str, list]:
    """Inputs spread over each feature's training range (bin edges and beyond), with some missing values."""
    rng = np.random.default_rng(0)
    sample = {}
    for name in signature:
        reference = (profile or {}).get("features", {}).get(name) or {}
        points = [v for v in [reference.get("min"), *reference.get("cuts", []), reference.get("max")] if v is not None]
        if len(points) < 2:
            points = [-1.0, 0.0, 1.0]
        low, high = min(points), max(points)
        span = (high - low) or 1.0
        values = np.concatenate([np.asarray(points, dtype="float64"),
                                 rng.uniform(low - 0.1 * span, high + 0.1 * span, rows - len(points))])[:rows]
        column = values.tolist()
        if reference.get("null_rate"):
            for i in rng.choice(rows, size=max(1, rows // 20), replace=False):
                column[i] = None
        sample[name] = column
    return sample


def compile_version(loaded, profile: dict[str, Any] | None = None) -> CompiledPredictor | None:
    """A verified ONNX predictor for ``loaded``, or None (not installed, not convertible, or not faithful)."""
    if not all(kind in _NUMERIC for kind in loaded.signature.values()):
        return None
    try:
        import onnxruntime  # noqa: F401
        import skl2onnx  # noqa: F401
    except ImportError:
        return None
    sample = _sample_rows(loaded.signature, profile)
    expected = loaded.predict(loaded.frame(sample))
    reason = "not convertible"
    # double precision first (exact); some ONNX Runtime ops (the imputer) exist in float32 only
    for dtype, tolerance in (("float64", 1e-7), ("float32", 1e-5)):
        try:
            predictor = _convert(loaded, dtype)
            compiled = predictor.predict(predictor.feeds(sample))
        except Exception as exc:  # an unsupported step, a converter gap: try the next precision
            reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            continue
        if _agrees(compiled, expected, tolerance):
            return predictor
        reason = f"the {dtype} conversion disagrees with scikit-learn"
    log.info("%s v%s is served by scikit-learn (ONNX: %s)", loaded.model, loaded.version, reason)
    return None


def _convert(loaded, dtype: str) -> CompiledPredictor:
    import onnxruntime
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    estimator = loaded.estimator
    final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    classes = np.asarray(final.classes_) if hasattr(final, "classes_") else None
    names = list(loaded.signature)
    tensor = DoubleTensorType if dtype == "float64" else FloatTensorType
    options = {id(final): {"zipmap": False}} if classes is not None else None
    model = convert_sklearn(estimator, initial_types=[(n, tensor([None, 1])) for n in names], options=options,
                            target_opset=17)
    settings = onnxruntime.SessionOptions()
    settings.intra_op_num_threads = settings.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(model.SerializeToString(), settings, providers=["CPUExecutionProvider"])
    return CompiledPredictor(session, names, classes, dtype)


def _agrees(compiled: dict[str, np.ndarray], expected: dict[str, np.ndarray], tolerance: float) -> bool:
    if "predict_proba" in expected:
        return (np.array_equal(np.asarray(compiled["predict"]).astype(str),
                               np.asarray(expected["predict"]).astype(str))
                and np.allclose(compiled["predict_proba"], expected["predict_proba"], rtol=tolerance,
                                atol=tolerance))
    return np.allclose(np.asarray(compiled["predict"], dtype="float64").reshape(-1),
                       np.asarray(expected["predict"], dtype="float64").reshape(-1), rtol=tolerance, atol=tolerance)
