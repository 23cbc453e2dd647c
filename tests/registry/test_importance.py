"""Global feature importance by mean |SHAP|: the explainer each kind of model gets, transformed features summed
back to their input columns, and the reasons it is skipped (over the time budget, shap not installed)."""

import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from shipyard.registry.importance import feature_importance

pytest.importorskip("shap")


def _frame(n=600, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n),
                          "color": rng.choice(["red", "green", "blue"], n), "noise": rng.normal(size=n)})
    frame["y"] = ((2 * frame.x1 + 1.5 * (frame.color == "red") + 0.3 * rng.normal(size=n)) > 0.5).astype(int)
    return frame


def _pipeline(estimator, frame):
    features = ColumnTransformer([("numeric", Pipeline([("scale", StandardScaler())]), ["x1", "x2", "noise"]),
                                  ("categories", Pipeline([("one_hot", OneHotEncoder())]), ["color"])])
    return Pipeline([("features", features), ("estimator", estimator)]).fit(frame.drop(columns="y"), frame.y)


@pytest.mark.parametrize(("estimator", "method"), [(RandomForestClassifier(n_estimators=30, random_state=0),
                                                    "shap.TreeExplainer"),
                                                   (LogisticRegression(max_iter=300), "shap.LinearExplainer")])
def test_the_columns_that_drive_the_target_come_first_summed_over_their_levels(estimator, method):
    frame = _frame()
    found = feature_importance(_pipeline(estimator, frame), frame, "y", task="classification")
    assert found["method"] == method and found["rows"] == 500
    assert list(found["columns"])[:2] == ["x1", "color"]
    assert set(found["columns"]) == {"x1", "x2", "color", "noise"}
    assert found["columns"]["x1"] > 5 * found["columns"]["noise"] > 0


def test_lightgbm_is_explained_by_its_trees():
    from lightgbm import LGBMClassifier

    frame = _frame()
    found = feature_importance(_pipeline(LGBMClassifier(n_estimators=30, verbose=-1), frame), frame, "y",
                               task="classification", max_rows=100)
    assert found["method"] == "shap.TreeExplainer" and found["rows"] == 100
    assert list(found["columns"])[0] == "x1"


def test_any_other_model_gets_the_model_agnostic_explainer_on_a_small_sample():
    frame = _frame(n=200)
    frame["y"] = 3 * frame.x1 + 0.1 * frame.x2
    model = Pipeline([("features", ColumnTransformer([("numeric", StandardScaler(), ["x1", "x2"])])),
                      ("estimator", KNeighborsRegressor())]).fit(frame[["x1", "x2"]], frame.y)
    found = feature_importance(model, frame[["x1", "x2", "y"]], "y", task="regression", max_rows=20)
    assert found["method"] == "shap.KernelExplainer" and found["rows"] == 20
    assert list(found["columns"]) == ["x1", "x2"]


def test_a_model_without_a_feature_pipeline_is_explained_on_its_inputs():
    frame = _frame()[["x1", "x2", "noise"]]
    frame["y"] = 2 * frame.x1 - frame.noise
    model = Ridge().fit(frame[["x1", "x2", "noise"]], frame.y)
    found = feature_importance(model, frame, "y", task="regression")
    assert found["method"] == "shap.LinearExplainer" and list(found["columns"]) == ["x1", "noise", "x2"]


def test_it_is_skipped_with_the_reason_when_over_budget_or_without_shap(monkeypatch):
    frame = _frame()
    model = _pipeline(RandomForestClassifier(n_estimators=30, random_state=0), frame)
    over = feature_importance(model, frame, "y", task="classification", budget_s=0.0)
    assert over["skipped"].startswith("explaining 500 rows would take about") and "budget of 0 s" in over["skipped"]
    monkeypatch.setitem(sys.modules, "shap", None)
    assert feature_importance(model, frame, "y", task="classification") == {
        "skipped": "the shap package is not installed (pip install 'shipyard[explain]')"}
