"""The ONNX predict path: used only where it reproduces scikit-learn, and answering the same through the gateway."""

import importlib.util
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from shipyard.data.features import build_feature_transformer, feature_input_columns
from shipyard.monitoring.profile import build_profile
from shipyard.serving.app import create_app
from shipyard.serving.compiled import Feeds, compile_version, try_compile
from shipyard.spec.loader import load_spec
from shipyard.serving.loaded import LoadedVersion, probe

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
    assert loaded.compiled is not None and loaded.compiled.dtype == "float64"  # the imputer converts in double too
    frame, _ = _data(300, seed=5)
    columns = {c: [None if pd.isna(v) else float(v) for v in frame[c]] for c in COLUMNS}
    compiled = loaded.predict_prepared(loaded.prepare(columns))
    expected = loaded.predict(loaded.frame(columns))
    assert np.array_equal(compiled["predict"], expected["predict"])
    assert np.allclose(compiled["predict_proba"], expected["predict_proba"], rtol=1e-7, atol=1e-7)
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


def test_a_compiled_model_refuses_missing_values_where_scikit_learn_cannot_take_them():
    frame, y = _data()
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(frame.fillna(0), y)
    loaded = LoadedVersion(model="e", version="1", estimator=model, signature={c: "double" for c in COLUMNS})
    loaded.compiled = compile_version(loaded)
    assert loaded.compiled is not None  # ONNX Runtime would answer a NaN row; scikit-learn refuses it
    assert probe(loaded).accepts_missing == frozenset()


def test_regressors_compile_too():
    frame, _ = _data()
    model = make_pipeline(SimpleImputer(), LinearRegression()).fit(frame, frame.a * 3 + frame.c)
    loaded = LoadedVersion(model="r", version="1", estimator=model, signature={c: "double" for c in COLUMNS})
    assert compile_version(loaded) is not None


def test_what_cannot_be_converted_stays_on_scikit_learn_and_says_why():
    frame, y = _data()
    frame["d"] = np.where(frame.a > 0, "up", "down")
    features = ColumnTransformer([("num", make_pipeline(SimpleImputer(), FunctionTransformer(np.tanh)), COLUMNS),
                                  ("text", OneHotEncoder(handle_unknown="ignore"), ["d"])])
    model = Pipeline([("features", features), ("estimator", LogisticRegression())]).fit(frame, y)
    loaded = LoadedVersion(model="f", version="1", estimator=model, signature={**{c: "double" for c in COLUMNS},
                                                                              "d": "string"})
    loaded.compiled, loaded.not_compiled_because = try_compile(loaded)
    assert loaded.compiled is None and "FunctionTransformer" in loaded.not_compiled_because
    assert loaded.runs_on.startswith("scikit-learn (ONNX: ") and "FunctionTransformer" in loaded.runs_on


def test_a_conversion_that_disagrees_with_scikit_learn_is_not_used():
    """skl2onnx converts a random forest, but not where scikit-learn's trees send a missing value."""
    frame, y = _data()
    forest = make_pipeline(StandardScaler(), RandomForestClassifier(n_estimators=10, max_depth=6, random_state=0))
    loaded = LoadedVersion(model="rf", version="1", estimator=forest.fit(frame.fillna(0), y),
                           signature={c: "double" for c in COLUMNS})
    compiled, reason = try_compile(loaded)
    assert compiled is None and "disagrees with scikit-learn" in reason


def test_trees_that_split_off_missing_values_are_refused_before_conversion():
    frame, y = _data()  # "b" has missing values: a split may send them alone one way (an infinite threshold)
    forest = make_pipeline(StandardScaler(), RandomForestClassifier(n_estimators=10, max_depth=6, random_state=0))
    loaded = LoadedVersion(model="rf", version="1", estimator=forest.fit(frame, y),
                           signature={c: "double" for c in COLUMNS})
    assert any(not np.isfinite(t.threshold[t.children_left >= 0]).all() for t in forest[-1].estimators_
               for t in [t.tree_])
    compiled, reason = try_compile(loaded)
    assert compiled is None and "splits missing values" in reason


# -- mixed inputs: the churn example's numbers and strings, imputers, boosted trees --------------------------

CHURN = Path(__file__).resolve().parents[2] / "examples" / "churn"


def _churn_frame(rows: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    spec = importlib.util.spec_from_file_location("churn_generate", CHURN / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate_churn(n_rows=rows, seed=seed, shift=shift)


def _example_features():
    """The churn example's own features: impute + scale, clip + log, impute + one-hot, passthrough."""
    return build_feature_transformer(load_spec(CHURN / "pipeline.yaml").spec.features)


def _imputed_features():
    """Every column imputed, so that no missing value reaches an estimator that routes them its own way."""
    numbers = ["age", "tenure_months", "monthly_charges", "total_charges", "support_calls", "has_partner"]
    text = ["plan", "contract", "region", "payment_method"]
    return ColumnTransformer([
        ("numbers", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numbers),
        ("text", make_pipeline(SimpleImputer(strategy="most_frequent"),
                               OneHotEncoder(handle_unknown="ignore", sparse_output=False)), text)])


def _churn_version(features, estimator, target: str = "churned") -> tuple[LoadedVersion, dict]:
    train = _churn_frame(1500, seed=0)
    columns = feature_input_columns(load_spec(CHURN / "pipeline.yaml").spec.features)
    model = Pipeline([("features", features), ("estimator", estimator)]).fit(train[columns], train[target])
    kinds = {"int64": "long", "float64": "double"}
    signature = {c: kinds.get(str(train[c].dtype), "string") for c in columns}
    return (LoadedVersion(model="churn", version="1", estimator=model, signature=signature),
            build_profile(train[columns]))


def _request_columns(signature: dict[str, str]) -> dict[str, list]:
    """Drifted rows (an unseen region), an unseen plan, and missing values in imputed and raw columns."""
    frame = _churn_frame(400, seed=11, shift=1.0)
    rng = np.random.default_rng(3)
    frame.loc[frame.index[::37], "plan"] = "enterprise"
    columns = {}
    for name, kind in signature.items():
        values = [None if pd.isna(v) else (v.item() if hasattr(v, "item") else v) for v in frame[name]]
        if name in ("age", "total_charges", "support_calls", "plan", "payment_method"):
            values = [None if rng.random() < 0.1 else v for v in values]
        columns[name] = values
    return columns


def _xgboost():
    from xgboost import XGBClassifier

    return XGBClassifier(n_estimators=60, max_depth=4, learning_rate=0.1)


def _lightgbm():
    from lightgbm import LGBMClassifier

    return LGBMClassifier(n_estimators=150, learning_rate=0.05, verbose=-1)


@pytest.mark.parametrize("features, estimator", [
    (_example_features, _lightgbm),
    (_example_features, _xgboost),
    (_imputed_features, lambda: RandomForestClassifier(n_estimators=30, max_depth=8, random_state=0)),
    (_example_features, lambda: HistGradientBoostingClassifier(max_iter=60, random_state=0)),
], ids=["lightgbm", "xgboost", "random-forest", "hist-gradient-boosting"])
def test_mixed_type_pipelines_are_compiled_and_answer_like_scikit_learn(features, estimator):
    loaded, profile = _churn_version(features(), estimator())
    loaded.compiled, reason = try_compile(loaded, profile)
    assert loaded.compiled is not None, reason
    assert loaded.compiled.dtype == "float64" and loaded.runs_on == "ONNX Runtime"
    columns = _request_columns(loaded.signature)
    compiled = loaded.predict_prepared(loaded.prepare(columns))
    expected = loaded.predict(loaded.frame(columns))
    assert np.array_equal(compiled["predict"], expected["predict"])
    assert np.allclose(compiled["predict_proba"], expected["predict_proba"], rtol=1e-6, atol=1e-6)
    one_row = {name: values[:1] for name, values in columns.items()}
    assert np.allclose(loaded.predict_prepared(loaded.prepare(one_row))["predict_proba"],
                       expected["predict_proba"][:1], rtol=1e-6, atol=1e-6)


def test_lightgbm_regressors_compile_in_double_precision():
    from lightgbm import LGBMRegressor

    loaded, profile = _churn_version(_example_features(), LGBMRegressor(n_estimators=40, verbose=-1),
                                     target="churned")
    loaded.compiled = compile_version(loaded, profile)
    assert loaded.compiled is not None and loaded.compiled.dtype == "float64"
    columns = _request_columns(loaded.signature)
    assert np.allclose(loaded.predict_prepared(loaded.prepare(columns))["predict"],  # a float32 rounding per leaf
                       loaded.predict(loaded.frame(columns))["predict"], rtol=1e-6, atol=1e-6)


def test_histogram_gradient_boosting_regressors_compile_in_double_precision():
    loaded, profile = _churn_version(_example_features(), HistGradientBoostingRegressor(max_iter=60),
                                     target="churned")
    loaded.compiled, reason = try_compile(loaded, profile)
    assert loaded.compiled is not None and loaded.compiled.dtype == "float64", reason
    columns = _request_columns(loaded.signature)
    assert np.allclose(loaded.predict_prepared(loaded.prepare(columns))["predict"],
                       loaded.predict(loaded.frame(columns))["predict"], rtol=1e-6, atol=1e-6)


def test_histogram_gradient_boosting_with_categorical_splits_stays_on_scikit_learn():
    loaded, profile = _churn_version(_imputed_features(), HistGradientBoostingClassifier(
        max_iter=20, categorical_features=[0], random_state=0))
    compiled, reason = try_compile(loaded, profile)
    assert compiled is None and "categorical" in reason


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
