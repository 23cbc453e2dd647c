"""The skops allow-list policy and byte-stable serialization."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, TransformerMixin

from shipyard.errors import RefusedError
from shipyard.registry.trust import dumps_safe, loads_safe


class HomeMadeTransformer(TransformerMixin, BaseEstimator):
    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return X


def _lgbm_pipeline():
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    from lightgbm import LGBMClassifier

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=80), "c": rng.choice(["x", "y"], size=80)})
    y = rng.integers(0, 2, size=80)
    features = ColumnTransformer([("n", StandardScaler(), ["a"]), ("c", OneHotEncoder(), ["c"])])
    return Pipeline([("f", features), ("e", LGBMClassifier(n_estimators=5, verbose=-1))]).fit(frame, y), frame


def test_lightgbm_pipeline_round_trips_with_only_allowed_types():
    model, frame = _lgbm_pipeline()
    data, trusted = dumps_safe(model)
    assert "lightgbm.sklearn.LGBMClassifier" in trusted
    assert np.array_equal(loads_safe(data).predict_proba(frame), model.predict_proba(frame))


def test_serialization_is_byte_stable():
    model, _ = _lgbm_pipeline()
    assert dumps_safe(model)[0] == dumps_safe(model)[0]


def test_types_outside_the_policy_are_refused_unless_their_module_is_named():
    with pytest.raises(RefusedError, match="HomeMadeTransformer"):
        dumps_safe(HomeMadeTransformer())
    data, trusted = dumps_safe(HomeMadeTransformer(), extra_modules=(__name__,))
    assert trusted == [f"{__name__}.HomeMadeTransformer"]
    with pytest.raises(RefusedError):
        loads_safe(data)
    assert isinstance(loads_safe(data, extra_modules=(__name__,)), HomeMadeTransformer)


def test_xgboost_pipeline_round_trips():
    xgboost = pytest.importorskip("xgboost", reason="xgboost is an optional extra")
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(1)
    X = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    y = rng.integers(0, 2, size=60)
    model = Pipeline([("s", StandardScaler()), ("e", xgboost.XGBClassifier(n_estimators=5))]).fit(X, y)
    data, trusted = dumps_safe(model)
    assert "xgboost.sklearn.XGBClassifier" in trusted
    assert np.array_equal(loads_safe(data).predict(X), model.predict(X))
