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


def test_each_slice_value_gets_its_own_ranking_and_the_values_are_summed_per_input_column():
    from shipyard.registry.importance import explain

    frame = _frame()
    # within the red rows the color cannot tell rows apart: x1 alone drives the prediction there
    model = _pipeline(RandomForestClassifier(n_estimators=30, random_state=0), frame)
    found, values = explain(model, frame, "y", task="classification", slices=["color"])
    assert set(found["slices"]) == {"color"} and set(found["slices"]["color"]) == {"red", "green", "blue"}
    assert sum(s["rows"] for s in found["slices"]["color"].values()) == found["rows"] == len(values) == 500
    red = found["slices"]["color"]["red"]
    assert list(red["columns"])[0] == "x1" and set(red["columns"]) == {"x1", "x2", "color", "noise"}
    assert list(values.columns) == ["row", "slice[color]", *(f"shap[{c}][{k}]" for c in ("x1", "x2", "noise", "color")
                                                             for k in (0, 1))]
    assert (values["slice[color]"].to_numpy() == frame.loc[values["row"].astype(int), "color"].to_numpy()).all()
    # the levels of the one-hot column are summed into the column, sign kept: the two classes mirror each other
    np.testing.assert_allclose(values["shap[color][1]"], -values["shap[color][0]"], atol=1e-9)
    assert found["columns"]["x1"] == pytest.approx(
        (values["shap[x1][0]"].abs().mean() + values["shap[x1][1]"].abs().mean()) / 2)


def test_a_slice_column_missing_from_the_holdout_is_said_not_guessed():
    from shipyard.registry.importance import explain

    frame = _frame()
    model = _pipeline(LogisticRegression(max_iter=300), frame)
    found, values = explain(model, frame, "y", task="classification", slices=["region"])
    assert found == {"skipped": "slice column(s) region are not in the holdout"} and values is None


def test_the_values_are_stored_once_by_their_digest(shipyard_home):
    import io

    import pandas as pd

    from shipyard.config import load_settings
    from shipyard.pipeline.artifacts import open_artifact_store, sha256_bytes
    from shipyard.registry.importance import explain, store_values

    settings = load_settings()
    frame = _frame(n=100)
    _, values = explain(_pipeline(LogisticRegression(max_iter=300), frame), frame, "y", task="classification")
    stored = store_values(values, settings=settings)
    data = open_artifact_store(settings).get(stored["sha256"])
    assert sha256_bytes(data) == stored["sha256"] and store_values(values, settings=settings) == stored
    assert stored["rows"] == 100 and stored["location"].endswith(f"sha256/{stored['sha256'][:2]}/{stored['sha256']}")
    pd.testing.assert_frame_equal(pd.read_parquet(io.BytesIO(data)), values)
