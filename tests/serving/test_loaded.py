"""What a loaded version accepts (its outputs, the columns it predicts with a value missing), and that a version
whose files changed after registration does not load."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from shipyard.errors import RefusedError
from shipyard.serving.loaded import LoadedVersion, load_for_serving, one_thread_per_predict, probe

SIGNATURE = {"x1": "double", "x2": "double", "color": "string"}


def train_frame(n=120):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n),
                          "color": rng.choice(["red", "blue"], size=n)})
    return frame, (frame.x1 + (frame.color == "red") > 0.5).astype(int)


def version(*, impute_x1: bool) -> LoadedVersion:
    """Logistic regression over scaled numbers: x1 imputed or not, x2 never, color one-hot (missing ignored)."""
    x1 = Pipeline([("impute", SimpleImputer()), ("scale", StandardScaler())]) if impute_x1 else StandardScaler()
    features = ColumnTransformer([("x1", x1, ["x1"]), ("x2", StandardScaler(), ["x2"]),
                                  ("color", OneHotEncoder(handle_unknown="ignore"), ["color"])])
    frame, y = train_frame()
    model = Pipeline([("features", features), ("estimator", LogisticRegression())]).fit(frame, y)
    return probe(LoadedVersion(model="lr", version="1", estimator=model, signature=dict(SIGNATURE)))


def test_probe_finds_the_columns_a_version_can_predict_without():
    assert version(impute_x1=True).accepts_missing == frozenset({"x1", "color"})
    assert version(impute_x1=False).accepts_missing == frozenset({"color"})


def test_probe_records_the_outputs_of_a_classifier():
    assert version(impute_x1=True).outputs == ("predict", "predict_proba")


def test_a_missing_string_reaches_the_pipeline_as_training_saw_it_and_is_imputed():
    """pandas reads a missing text cell as NaN; a request's null must reach the imputer the same way."""
    frame, y = train_frame()
    frame.loc[frame.index[::9], "color"] = np.nan
    colors = Pipeline([("impute", SimpleImputer(strategy="most_frequent")),
                       ("encode", OneHotEncoder(handle_unknown="ignore"))])
    features = ColumnTransformer([("x", StandardScaler(), ["x1", "x2"]), ("color", colors, ["color"])])
    model = Pipeline([("features", features), ("estimator", LogisticRegression())]).fit(frame, y)
    loaded = LoadedVersion(model="lr", version="1", estimator=model, signature=dict(SIGNATURE))
    most_frequent = frame.color.mode()[0]
    missing = loaded.predict(loaded.frame({"x1": [0.3], "x2": [0.1], "color": [None]}))["predict_proba"]
    imputed = loaded.predict(loaded.frame({"x1": [0.3], "x2": [0.1], "color": [most_frequent]}))["predict_proba"]
    np.testing.assert_array_equal(missing, imputed)


def test_a_served_model_predicts_on_one_thread_and_answers_the_same():
    from lightgbm import LGBMClassifier
    from sklearn.ensemble import RandomForestClassifier

    frame, y = train_frame()
    numbers = frame[["x1", "x2"]]
    for estimator in (LGBMClassifier(n_estimators=20, n_jobs=-1, verbose=-1),
                      Pipeline([("scale", StandardScaler()), ("forest", RandomForestClassifier(n_estimators=8,
                                                                                               n_jobs=-1))])):
        estimator.fit(numbers, y)
        before = estimator.predict_proba(numbers)
        served = one_thread_per_predict(estimator)
        final = served[-1] if hasattr(served, "steps") else served
        assert final.n_jobs == 1
        np.testing.assert_array_equal(served.predict_proba(numbers), before)


def _mlmodel(tracked) -> Path:
    uri = tracked["client"].get_model_version_download_uri("synth", tracked["result"].model_version)
    return Path(uri.removeprefix("file://")) / "MLmodel"


def test_a_retyped_input_in_mlmodel_keeps_the_version_from_loading(tracked):
    version, settings = tracked["result"].model_version, tracked["settings"]
    path = _mlmodel(tracked)
    original = path.read_text()
    retyped = original.replace('"type": "double", "name": "x1"', '"type": "string", "name": "x1"')
    assert retyped != original
    path.write_text(retyped)
    try:
        with pytest.raises(RefusedError, match="MLmodel was changed") as caught:
            load_for_serving("synth", version, settings=settings, compile=False)
        assert caught.value.headline == "model file changed" and f"synth version {version}" in caught.value.message
    finally:
        path.write_text(original)
    loaded = load_for_serving("synth", version, settings=settings, compile=False)
    assert loaded.signature["x1"] == "double"


class _Constant:
    def __init__(self, seconds: float = 0.0):
        self.seconds = seconds

    def predict(self, frame):
        import time

        time.sleep(self.seconds)
        return np.zeros(len(frame))


def test_only_a_version_that_predicts_a_row_quickly_predicts_single_rows_on_the_event_loop(monkeypatch):
    import shipyard.serving.loaded as loaded_module

    monkeypatch.setattr(loaded_module, "INLINE_PREDICT_S", 0.02)  # a margin no machine load closes
    quick = probe(LoadedVersion(model="c", version="1", estimator=_Constant(), signature=dict(SIGNATURE)))
    slow = probe(LoadedVersion(model="c", version="2", estimator=_Constant(0.06), signature=dict(SIGNATURE)))
    assert (quick.inline_rows, slow.inline_rows) == (1, 0)
