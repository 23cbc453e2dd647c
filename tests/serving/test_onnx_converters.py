"""The converters shipyard adds to skl2onnx reproduce the transformers they convert, missing values included."""

import numpy as np
import pandas as pd
import pytest
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from shipyard.data.transformers import BucketizeTransformer, ClipTransformer, LogTransformer
from shipyard.serving.compiled import try_compile
from shipyard.serving.loaded import LoadedVersion
from shipyard.serving.onnx_converters import MISSING_STRING, register

VALUES = np.array([[-3.0], [-1.0], [-0.5], [0.0], [0.5], [1.0], [2.0], [10.0], [np.nan], [1e9]])


def _run(transformer, values: np.ndarray) -> np.ndarray:
    import onnxruntime
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType

    register()
    model = convert_sklearn(transformer, initial_types=[("x", DoubleTensorType([None, values.shape[1]]))],
                            target_opset={"": 17, "ai.onnx.ml": 3})
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": values})[0]


@pytest.mark.parametrize("transformer", [LogTransformer(offset=1.0), LogTransformer(offset=0.0),
                                         ClipTransformer(min=0, max=5), ClipTransformer(min=-1),
                                         ClipTransformer(max=1.5), BucketizeTransformer(edges=[-1, 0.5, 2])],
                         ids=["log1", "log0", "clip", "clip-min", "clip-max", "bucketize"])
def test_column_wise_transformers_convert_exactly(transformer):
    transformer.fit(np.array([[0.5], [1.0], [3.0]]))
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = transformer.transform(VALUES)
    np.testing.assert_allclose(_run(transformer, VALUES), expected, rtol=1e-15, atol=0)  # and NaN where it has NaN


def test_a_numeric_imputer_converts_in_double_precision():
    imputer = SimpleImputer(strategy="mean").fit(np.array([[0.1, 1.0], [0.2, np.nan], [0.4, 3.0]]))
    values = np.array([[np.nan, np.nan], [1 / 3, 2.0]])
    np.testing.assert_array_equal(_run(imputer, values), imputer.transform(values))


def _text_model(encoder: OneHotEncoder, categories: list) -> LoadedVersion:
    frame = pd.DataFrame({"c": pd.Series(categories, dtype=object)})
    y = np.arange(len(frame)) % 2
    model = make_pipeline(SimpleImputer(strategy="most_frequent"), encoder, LogisticRegression()).fit(frame, y)
    return LoadedVersion(model="t", version="1", estimator=model, signature={"c": "string"})


def test_a_missing_string_is_imputed_like_scikit_learn_and_an_unseen_one_ignored():
    loaded = _text_model(OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=12),
                         ["a", "b", "b", np.nan, "c", "b", "a"] * 5)
    loaded.compiled, reason = try_compile(loaded)
    assert loaded.compiled is not None, reason
    columns = {"c": ["a", None, "zz", "b", "", MISSING_STRING[1:]]}
    compiled = loaded.predict_prepared(loaded.prepare(columns))["predict_proba"]
    expected = loaded.predict(loaded.frame(columns))["predict_proba"]
    np.testing.assert_allclose(compiled, expected, rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(compiled[1], loaded.predict(loaded.frame({"c": ["b"]}))["predict_proba"][0])


def test_an_encoder_with_infrequent_categories_stays_on_scikit_learn():
    loaded = _text_model(OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=3),
                         ["a"] * 10 + ["b"] * 10 + ["rare"])
    compiled, reason = try_compile(loaded)
    assert compiled is None and reason
