"""LightGBM in double precision: the same branches as LightGBM, for values next to a split and missing ones."""

import numpy as np
import pytest
from lightgbm import LGBMClassifier, LGBMRegressor

from shipyard.serving.onnx_converters import UnsupportedStep, register


def _session(model, columns: int):
    import onnxruntime
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType

    register()
    options = {id(model): {"zipmap": False}} if hasattr(model, "classes_") else None
    onnx_model = convert_sklearn(model, initial_types=[("x", DoubleTensorType([None, columns]))], options=options,
                                 target_opset={"": 17, "ai.onnx.ml": 3})
    return onnxruntime.InferenceSession(onnx_model.SerializeToString(), providers=["CPUExecutionProvider"])


def _data(classes: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(600, 4)) * [1, 100, 1e-3, 1]
    x[::5, 1] = np.nan  # missing while training: LightGBM learns a side for NaN at each split on column 1
    y = (np.digitize(x[:, 0] + x[:, 2] * 500, np.linspace(-1, 1, classes - 1)) if classes > 1
         else x[:, 0] * 3 + np.nan_to_num(x[:, 1]) / 50)
    return x, y


def _probe_rows(model, x: np.ndarray) -> np.ndarray:
    """Rows with each value on, just above and just below a split threshold, plus NaN in every column."""
    rows = [x[:50]]
    for tree in model.booster_.dump_model()["tree_info"][:20]:
        node = tree["tree_structure"]
        while "split_feature" in node:
            for value in (node["threshold"], np.nextafter(node["threshold"], np.inf),
                          np.nextafter(node["threshold"], -np.inf)):
                row = x[:1].copy()
                row[0, node["split_feature"]] = value
                rows.append(row)
            node = node["left_child"]
    missing = np.repeat(x[:4], 4, axis=0)
    missing[np.arange(16), np.arange(16) % 4] = np.nan
    return np.vstack([*rows, missing])


@pytest.mark.parametrize("classes", [2, 3])
def test_classifiers_take_lightgbms_branches_exactly(classes):
    x, y = _data(classes)
    model = LGBMClassifier(n_estimators=40, num_leaves=15, verbose=-1).fit(x, y)
    rows = _probe_rows(model, x)
    label, proba = _session(model, 4).run(None, {"x": rows})
    np.testing.assert_allclose(proba, model.predict_proba(rows), rtol=1e-7, atol=1e-7)  # a flipped branch: ~1e-2
    np.testing.assert_array_equal(label, model.predict(rows))


def test_string_class_labels_come_back_as_labels():
    x, y = _data(3)
    model = LGBMClassifier(n_estimators=10, verbose=-1).fit(x, np.array(["low", "mid", "high"])[y])
    label, _ = _session(model, 4).run(None, {"x": x[:30]})
    np.testing.assert_array_equal(label, model.predict(x[:30]))


@pytest.mark.parametrize("objective", ["regression", "poisson"])
def test_regressors_apply_their_objective(objective):
    x, y = _data(0)
    model = LGBMRegressor(n_estimators=30, objective=objective, verbose=-1).fit(x, np.abs(y) + 0.1)
    rows = _probe_rows(model, x)
    predicted = _session(model, 4).run(None, {"x": rows})[0].reshape(-1)
    np.testing.assert_allclose(predicted, model.predict(rows), rtol=1e-6)  # one float32 rounding per leaf


def test_what_cannot_be_expressed_is_refused():
    x, y = _data(2)
    forest = LGBMClassifier(boosting_type="rf", n_estimators=5, bagging_freq=1, bagging_fraction=0.5,
                            verbose=-1).fit(x, y)
    with pytest.raises(UnsupportedStep, match="random forest mode"):
        _session(forest, 4)
    category = np.arange(600) % 6
    categorical = LGBMClassifier(n_estimators=5, verbose=-1, min_data_per_group=5, cat_smooth=1).fit(
        np.column_stack([x[:, :3], category]), np.isin(category, [1, 4]).astype(int), categorical_feature=[3])
    with pytest.raises(UnsupportedStep, match="categorical split"):
        _session(categorical, 4)
