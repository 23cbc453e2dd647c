"""The ONNX predict path: used only where it reproduces scikit-learn, and answering the same through the gateway."""

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from shipyard.serving.app import create_app
from shipyard.serving.compiled import Feeds, compile_version
from shipyard.serving.loaded import LoadedVersion

from .conftest import LiveServer

COLUMNS = ["a", "b", "c"]


def _data(n=400, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n, 3)) * [1, 10, 100], columns=COLUMNS)
    frame.loc[frame.index[::17], "b"] = np.nan
    return frame, (frame.a + frame.c / 100 > 0).astype(int)


def _classifier():
    frame, y = _data()
    features = ColumnTransformer([("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
                                   COLUMNS)])
    model = Pipeline([("features", features), ("estimator", LogisticRegression())]).fit(frame, y)
    return LoadedVersion(model="m", version="1", estimator=model, signature={c: "double" for c in COLUMNS})


def test_a_numeric_pipeline_is_compiled_and_agrees_with_scikit_learn():
    loaded = _classifier()
    loaded.compiled = compile_version(loaded)
    assert loaded.compiled is not None and loaded.compiled.dtype == "float32"  # ONNX Runtime's imputer is float32
    frame, _ = _data(300, seed=5)
    columns = {c: [None if pd.isna(v) else float(v) for v in frame[c]] for c in COLUMNS}
    compiled = loaded.predict_prepared(loaded.prepare(columns))
    expected = loaded.predict(loaded.frame(columns))
    assert np.array_equal(compiled["predict"], expected["predict"])
    assert np.allclose(compiled["predict_proba"], expected["predict_proba"], rtol=1e-5, atol=1e-5)
    halves = Feeds.concat([loaded.prepare({c: v[:100] for c, v in columns.items()}),
                           loaded.prepare({c: v[100:] for c, v in columns.items()})])
    assert np.array_equal(loaded.predict_prepared(halves)["predict"], expected["predict"])


def test_without_float32_only_operators_the_conversion_is_double_precision():
    frame, y = _data()
    frame = frame.fillna(0)
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(frame, y)
    loaded = LoadedVersion(model="e", version="1", estimator=model, signature={c: "double" for c in COLUMNS})
    loaded.compiled = compile_version(loaded)
    assert loaded.compiled.dtype == "float64"
    columns = {c: frame[c].tolist() for c in COLUMNS}
    assert np.allclose(loaded.predict_prepared(loaded.prepare(columns))["predict_proba"],
                       model.predict_proba(frame), rtol=1e-7, atol=1e-7)


def test_regressors_compile_too():
    frame, _ = _data()
    model = make_pipeline(SimpleImputer(), LinearRegression()).fit(frame, frame.a * 3 + frame.c)
    loaded = LoadedVersion(model="r", version="1", estimator=model, signature={c: "double" for c in COLUMNS})
    assert compile_version(loaded) is not None


def test_what_cannot_be_compiled_stays_on_scikit_learn():
    from lightgbm import LGBMClassifier

    frame, y = _data()
    boosted = LoadedVersion(model="g", version="1", signature={c: "double" for c in COLUMNS},
                            estimator=LGBMClassifier(n_estimators=5, verbose=-1).fit(frame, y))
    assert compile_version(boosted) is None  # no converter registered for LightGBM
    text = _classifier()
    text.signature = {**text.signature, "d": "string"}
    assert compile_version(text) is None  # only all-numeric inputs are compiled


@pytest.mark.parametrize("compiled", [True, False])
def test_the_gateway_answers_the_same_either_way(compiled):
    loaded = _classifier()
    loaded.compiled = compile_version(loaded) if compiled else None
    with LiveServer(create_app([loaded])) as server:
        body = {"dataframe_split": {"columns": COLUMNS, "data": [[0.5, None, -20.0], [-1.0, 3.0, 250.0]]}}
        response = httpx.post(f"{server.url}/models/m/invocations", json=body)
        v2 = httpx.post(f"{server.url}/v2/models/m/infer", json={"inputs": [
            {"name": c, "shape": [2], "datatype": "FP64", "data": [row[i] for row in body["dataframe_split"]["data"]]}
            for i, c in enumerate(COLUMNS)]})
    assert response.status_code == 200 and v2.status_code == 200, response.text + v2.text
    expected = loaded.predict(loaded.frame({c: [r[i] for r in body["dataframe_split"]["data"]]
                                            for i, c in enumerate(COLUMNS)}))
    assert response.json()["predictions"] == expected["predict"].tolist()
    proba = next(o for o in v2.json()["outputs"] if o["name"] == "predict_proba")["data"]
    assert np.allclose(proba, expected["predict_proba"].reshape(-1), rtol=1e-5, atol=1e-5)
