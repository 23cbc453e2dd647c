"""The NumPy feature path answers exactly as scikit-learn does, and is used only where it does."""

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, OneHotEncoder, RobustScaler, StandardScaler

from shipyard.data.transformers import BucketizeTransformer, ClipTransformer, LogTransformer
from shipyard.serving.compiled import sample_rows
from shipyard.serving.loaded import LoadedVersion, find_openmp_runtimes, probe
from shipyard.serving.numpy_features import FeatureRows, try_numpy_features

SIGNATURE = {"age": "long", "charges": "double", "calls": "long", "plan": "string", "region": "string",
             "has_partner": "long"}
PLANS, REGIONS = ["basic", "standard", "premium"], ["north", "south", "east", "west"]


def churn_frame(n=300):
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({
        "age": rng.integers(18, 90, n).astype("float64"), "charges": rng.gamma(2.0, 30.0, n),
        "calls": rng.poisson(2, n), "plan": rng.choice(PLANS, n).astype(object),
        "region": rng.choice(REGIONS, n).astype(object), "has_partner": rng.integers(0, 2, n)})
    frame.loc[frame.index[::11], "age"] = np.nan
    frame.loc[frame.index[::13], "region"] = np.nan
    target = ((frame.charges > 60) ^ (frame.plan == "basic")).astype(int)
    return frame, target


def churn_features(max_categories=12):
    """The churn example's feature groups, as shipyard builds them."""
    return ColumnTransformer([
        ("numeric", Pipeline([("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                              ("scale", StandardScaler())]), ["age", "charges"]),
        ("calls", Pipeline([("clip", ClipTransformer(min=0, max=30)), ("log", LogTransformer())]), ["calls"]),
        ("categories", Pipeline([("impute", SimpleImputer(strategy="most_frequent", keep_empty_features=True)),
                                 ("one_hot", OneHotEncoder(handle_unknown="infrequent_if_exist", sparse_output=False,
                                                           max_categories=max_categories))]), ["plan", "region"]),
        ("flags", "passthrough", ["has_partner"]),
    ], remainder="drop", sparse_threshold=0.0)


def profile():
    return {"features": {"age": {"min": 18, "max": 89, "cuts": [30, 50, 70]},
                         "charges": {"min": 0.5, "max": 300.0, "cuts": [20.0, 60.0]},
                         "calls": {"min": 0, "max": 12, "cuts": [1, 2, 4]},
                         "plan": {"categories": PLANS}, "region": {"categories": REGIONS},
                         "has_partner": {"min": 0, "max": 1}}}


def loaded_version(features, estimator=None) -> LoadedVersion:
    frame, target = churn_frame()
    model = Pipeline([("features", features), ("model", estimator or LogisticRegression(max_iter=500))])
    model.fit(frame, target)
    return LoadedVersion(model="churn", version="1", estimator=model, signature=dict(SIGNATURE))


def test_the_churn_features_take_the_numpy_path_and_answer_as_scikit_learn_does():
    loaded = loaded_version(churn_features())
    fast, reason = try_numpy_features(loaded, sample_rows(SIGNATURE, profile()))
    assert fast is not None, reason
    rows = {"age": [None, 40, 25], "charges": [70.5, None, 12.0], "calls": [3, 0, 40],
            "plan": ["premium", "gold", None], "region": [None, "north", "mars"], "has_partner": [1, 0, 1]}
    expected = loaded.predict(loaded.frame(rows))
    got = fast.predict(fast.rows(rows))
    np.testing.assert_array_equal(got["predict"], expected["predict"])
    np.testing.assert_array_equal(got["predict_proba"], expected["predict_proba"])
    one = {name: values[:1] for name, values in rows.items()}
    np.testing.assert_array_equal(fast.predict(fast.rows(one))["predict_proba"], expected["predict_proba"][:1])


def test_lightgbm_behind_the_churn_features_answers_the_same():
    from lightgbm import LGBMClassifier

    loaded = loaded_version(churn_features(), LGBMClassifier(n_estimators=30, n_jobs=1, verbose=-1))
    sample = sample_rows(SIGNATURE, profile())
    fast, reason = try_numpy_features(loaded, sample)
    assert fast is not None, reason
    np.testing.assert_array_equal(fast.predict(fast.rows(sample))["predict_proba"],
                                  loaded.predict(loaded.frame(sample))["predict_proba"])


def test_scalers_and_bucketize_take_the_numpy_path():
    features = ColumnTransformer([
        ("minmax", MinMaxScaler(clip=True), ["charges"]), ("robust", RobustScaler(), ["has_partner"]),
        ("buckets", Pipeline([("impute", SimpleImputer()), ("bucket", BucketizeTransformer(edges=[30, 60]))]),
         ["age"]),
        ("plan", OneHotEncoder(handle_unknown="ignore"), ["plan"])])  # sparse output, densified here
    loaded = loaded_version(features)
    fast, reason = try_numpy_features(loaded, sample_rows(SIGNATURE, profile()))
    assert fast is not None, reason


def test_a_version_with_a_step_it_cannot_reproduce_keeps_scikit_learns_path():
    features = ColumnTransformer([("charges", FunctionTransformer(np.sqrt), ["charges"]),
                                  ("plan", OneHotEncoder(handle_unknown="ignore"), ["plan"])])
    fast, reason = try_numpy_features(loaded_version(features), sample_rows(SIGNATURE, profile()))
    assert fast is None and "FunctionTransformer" in reason


def test_a_one_hot_encoder_with_infrequent_categories_keeps_scikit_learns_path():
    fast, reason = try_numpy_features(loaded_version(churn_features(max_categories=2)),
                                      sample_rows(SIGNATURE, profile()))
    assert fast is None and "infrequent" in reason


def test_a_loaded_version_serves_through_the_numpy_path_and_batches_concatenate():
    loaded = loaded_version(churn_features())
    loaded.numpy_features, _ = try_numpy_features(loaded, sample_rows(SIGNATURE, profile()))
    probe(loaded)
    assert loaded.outputs == ("predict", "predict_proba") and loaded.runs_on == "scikit-learn, NumPy features"
    first = {"age": [30], "charges": [10.0], "calls": [1], "plan": ["basic"], "region": ["east"], "has_partner": [0]}
    second = {**first, "plan": ["premium"], "region": [None]}
    batch = FeatureRows.concat([loaded.prepare(first), loaded.prepare(second)])
    assert len(batch) == 2
    expected = loaded.predict(loaded.frame({name: first[name] + second[name] for name in first}))
    np.testing.assert_array_equal(loaded.predict_prepared(batch)["predict_proba"], expected["predict_proba"])


@pytest.mark.parametrize("value", [5, 2.5])
def test_a_number_where_the_encoder_learned_text_is_an_unknown_category_on_both_paths(value):
    loaded = loaded_version(churn_features())
    fast, _ = try_numpy_features(loaded, sample_rows(SIGNATURE, profile()))
    row = {"age": [30], "charges": [10.0], "calls": [1], "plan": [value], "region": ["east"], "has_partner": [0]}
    unseen = {**row, "plan": ["gold"]}
    expected = loaded.predict(loaded.frame(row))["predict_proba"]
    np.testing.assert_array_equal(fast.predict(fast.rows(row))["predict_proba"], expected)
    np.testing.assert_array_equal(fast.predict(fast.rows(unseen))["predict_proba"], expected)


def test_a_small_batch_predicts_on_one_openmp_thread_a_large_one_on_all_and_both_answer_the_same():
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_info

    def openmp_threads():
        return {lib["filepath"]: lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "openmp"}

    seen = []

    class Watched(HistGradientBoostingClassifier):
        def predict_proba(self, X):
            seen.append(openmp_threads())
            return super().predict_proba(X)

    loaded = loaded_version(churn_features(), Watched(max_iter=20))
    find_openmp_runtimes()  # as loading a version does
    rows = sample_rows(SIGNATURE, profile())
    expected = loaded.predict(loaded.frame(rows))["predict_proba"]
    default = openmp_threads()
    assert default, "scikit-learn's OpenMP runtime is loaded"
    seen.clear()
    one = {name: values[:1] for name, values in rows.items()}
    np.testing.assert_array_equal(loaded.predict_prepared(loaded.prepare(one))["predict_proba"], expected[:1])
    assert seen == [{path: 1 for path in default}]
    assert openmp_threads() == default
    seen.clear()
    np.testing.assert_array_equal(loaded.predict_prepared(loaded.prepare(rows))["predict_proba"], expected)
    assert seen == [default]
