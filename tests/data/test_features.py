import textwrap

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from lightgbm import LGBMClassifier
from sklearn.pipeline import Pipeline

from shipyard.data.features import build_feature_transformer, feature_input_columns
from shipyard.errors import DataError, SpecError, UserCodeError
from shipyard.spec.models import FeatureGroup


def groups(*specs: dict) -> list[FeatureGroup]:
    return [FeatureGroup.model_validate(s) for s in specs]


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 400
    plan = rng.choice(["basic", "standard", "premium"], n).astype(object)
    plan[::17] = None
    frame = pd.DataFrame({
        "age": rng.integers(18, 80, n).astype(float),
        "charges": rng.gamma(2.0, 30.0, n),
        "calls": rng.poisson(2, n),
        "plan": plan,
        "region": rng.choice(["n", "s", "e", "w", "rare"], n, p=[0.35, 0.3, 0.2, 0.14, 0.01]),
        "flag": rng.integers(0, 2, n),
        "note": ["x"] * n,
    })
    frame.loc[::13, "age"] = np.nan
    frame["y"] = ((frame["charges"] > 60) ^ (frame["plan"] == "basic")).astype(int)
    return frame


CHURN_LIKE = (
    {"name": "numeric", "columns": ["age", "charges"],
     "transforms": [{"kind": "impute", "strategy": "median"}, {"kind": "scale"}]},
    {"name": "calls", "columns": ["calls"], "transforms": [{"kind": "clip", "min": 0, "max": 5}, {"kind": "log"}]},
    {"name": "categories", "columns": ["plan", "region"],
     "transforms": [{"kind": "impute", "strategy": "most_frequent"}, {"kind": "one_hot", "max_categories": 4}]},
    {"name": "flags", "columns": ["flag"], "transforms": [{"kind": "passthrough"}]},
    {"name": "unused", "columns": ["note"], "transforms": [{"kind": "drop"}]},
)


def test_string_categories_with_nan_through_impute_and_one_hot(frame):
    assert str(frame["plan"].dtype) == "str" and frame["plan"].isna().sum() == 24
    transformer = build_feature_transformer(groups(*CHURN_LIKE), available_columns=list(frame.columns))
    columns = feature_input_columns(groups(*CHURN_LIKE))
    assert columns == ["age", "charges", "calls", "plan", "region", "flag"]
    out = transformer.fit_transform(frame[columns], frame["y"])
    names = transformer.get_feature_names_out().tolist()
    assert names == ["numeric__age", "numeric__charges", "calls__calls",
                     "categories__plan_basic", "categories__plan_premium", "categories__plan_standard",
                     "categories__region_e", "categories__region_n", "categories__region_s",
                     "categories__region_infrequent_sklearn", "flags__flag"]
    assert out.shape == (400, 11)
    assert not np.isnan(out).any()
    assert np.allclose(out[:, :2].mean(axis=0), 0, atol=1e-9)
    assert out[:, 2].max() == pytest.approx(np.log(6))
    assert out[:, 3:6].sum(axis=1).tolist() == [1.0] * 400
    unseen = frame[columns].head(2).assign(region=["mars", "rare"], plan=["gold", None])
    encoded = transformer.transform(unseen)
    imputed = ["basic", "premium", "standard"].index(frame["plan"].mode()[0])
    assert encoded[0, 3:6].tolist() == [0, 0, 0]
    assert encoded[1, 3:6].tolist() == [float(i == imputed) for i in range(3)]
    assert encoded[:, 9].tolist() == [1, 1]


def test_pipeline_with_lightgbm_round_trips_through_skops(frame):
    transformer = build_feature_transformer(groups(*CHURN_LIKE))
    columns = feature_input_columns(groups(*CHURN_LIKE))
    model = Pipeline([("features", transformer),
                      ("model", LGBMClassifier(n_estimators=20, verbose=-1, random_state=0))])
    model.fit(frame[columns], frame["y"])
    data = sio.dumps(model)
    untrusted = sio.get_untrusted_types(data=data)
    assert {"shipyard.data.transformers.ClipTransformer", "shipyard.data.transformers.LogTransformer",
            "lightgbm.sklearn.LGBMClassifier"} <= set(untrusted)
    loaded = sio.loads(data, trusted=untrusted)
    np.testing.assert_allclose(loaded.predict_proba(frame[columns]), model.predict_proba(frame[columns]))


def test_ordinal_and_bucketize(frame):
    spec = groups(
        {"name": "plan", "columns": ["plan"],
         "transforms": [{"kind": "ordinal", "categories": ["basic", "standard", "premium"]}]},
        {"name": "age", "columns": ["age"],
         "transforms": [{"kind": "impute"}, {"kind": "bucketize", "bins": 4, "strategy": "uniform"}]},
        {"name": "charges", "columns": ["charges"], "transforms": [{"kind": "bucketize", "bins": [30, 90]}]},
    )
    transformer = build_feature_transformer(spec).fit(frame)
    probe = pd.DataFrame({"plan": ["premium", "basic", "gold"], "age": [18.0, 79.0, 50.0],
                          "charges": [10.0, 30.0, 500.0]})
    out = transformer.transform(probe)
    assert out[:, 0].tolist() == [2, 0, -1]
    assert out[:, 1].tolist()[:2] == [0, 3]
    assert out[:, 2].tolist() == [0, 1, 2]


def test_repeated_kinds_and_one_hot_options(frame):
    spec = groups({"columns": ["calls"], "transforms": [{"kind": "clip", "max": 4}, {"kind": "clip", "min": 1}]},
                  {"columns": ["region"], "transforms": [{"kind": "one_hot", "min_frequency": 5.0}]},
                  {"columns": ["plan"], "transforms": [{"kind": "impute", "strategy": "constant",
                                                        "fill_value": "none"}, {"kind": "one_hot"}]})
    transformer = build_feature_transformer(spec)
    branches = {name: step for name, step, _ in transformer.transformers}
    assert list(branches) == ["group_0", "group_1", "group_2"]
    assert [label for label, _ in branches["group_0"].steps] == ["clip", "clip_1"]
    one_hot = branches["group_1"].named_steps["one_hot"]
    assert (one_hot.min_frequency, one_hot.handle_unknown) == (5, "infrequent_if_exist")
    assert branches["group_2"].named_steps["one_hot"].handle_unknown == "ignore"
    transformer.fit(frame)
    names = transformer.get_feature_names_out().tolist()
    assert "group_1__region_infrequent_sklearn" in names
    assert "group_2__plan_none" in names


def test_passthrough_group_and_input_columns_order():
    spec = groups({"name": "a", "columns": ["x", "y"], "transforms": [{"kind": "passthrough"}]},
                  {"name": "b", "columns": ["z", "x"], "transforms": [{"kind": "scale", "method": "robust"}]},
                  {"name": "c", "columns": ["w"], "transforms": [{"kind": "drop"}]})
    transformer = build_feature_transformer(spec)
    assert transformer.transformers[0][1] == "passthrough"
    assert [name for name, _, _ in transformer.transformers] == ["a", "b"]
    assert transformer.remainder == "drop"
    assert feature_input_columns(spec) == ["x", "y", "z"]


def test_missing_columns_are_named_with_a_suggestion():
    with pytest.raises(DataError) as info:
        build_feature_transformer(groups(*CHURN_LIKE), available_columns=["age", "charge", "calls", "plan",
                                                                           "region", "flag", "note"])
    assert "features names column 'charges' (did you mean 'charge'?)" in info.value.message
    assert "columns: age, charge, calls" in info.value.message


@pytest.mark.parametrize(("specs", "message"), [
    (({"name": "a", "columns": ["x"], "transforms": [{"kind": "scale"}]},
      {"name": "a", "columns": ["y"], "transforms": [{"kind": "scale"}]}), "must be unique; repeated: a"),
    (({"name": "a__b", "columns": ["x"], "transforms": [{"kind": "scale"}]},), "contain '__'"),
    (({"columns": ["x"], "transforms": [{"kind": "drop"}]},), "every feature group drops its columns"),
    (({"columns": ["x"], "transforms": [{"kind": "scale"}, {"kind": "drop"}]},), "'drop' must be the group's only"),
])
def test_spec_errors(specs, message):
    with pytest.raises(SpecError, match=message):
        build_feature_transformer(groups(*specs))


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))

    def write(name: str, source: str) -> str:
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
        return name

    return write


def test_function_group(user_module, frame):
    name = user_module("feat_user_ok", """
        import numpy as np
        from sklearn.preprocessing import FunctionTransformer

        def square():
            return FunctionTransformer(np.square, feature_names_out="one-to-one")
    """)
    spec = groups({"name": "sq", "columns": ["calls"], "function": f"{name}:square"})
    transformer = build_feature_transformer(spec).fit(frame)
    assert transformer.transform(frame.head(3)).ravel().tolist() == (frame["calls"].head(3) ** 2).tolist()
    assert transformer.get_feature_names_out().tolist() == ["sq__calls"]


def test_function_group_errors(user_module):
    name = user_module("feat_user_bad", """
        from sklearn.preprocessing import StandardScaler

        def not_a_transformer():
            return 42

        def a_class():
            return StandardScaler

        def broken():
            raise KeyError("threshold")
    """)
    with pytest.raises(UserCodeError, match="returned int, not a scikit-learn transformer"):
        build_feature_transformer(groups({"columns": ["x"], "function": f"{name}:not_a_transformer"}))
    with pytest.raises(UserCodeError, match="returned the class StandardScaler"):
        build_feature_transformer(groups({"columns": ["x"], "function": f"{name}:a_class"}))
    with pytest.raises(UserCodeError) as info:
        build_feature_transformer(groups({"columns": ["x"], "function": f"{name}:broken"}))
    assert "KeyError: 'threshold'" in info.value.message
    assert 'raise KeyError("threshold")' in info.value.user_traceback
    with pytest.raises(SpecError, match="no module named 'feat_user_absent'"):
        build_feature_transformer(groups({"columns": ["x"], "function": "feat_user_absent:make"}))
