"""A real MLflow store holding one logged pipeline run, shared by the tracking and registry tests."""

import numpy as np
import pandas as pd
import pytest

from shipyard.spec.loader import parse_spec

SPEC = """\
name: synth
team: research
description: A synthetic classification problem.
data:
  source: {type: csv, path: data/synth.csv}
  target: y
split: {method: stratified, holdout: 0.3, seed: 0}
features:
  - columns: [x1, x2]
    transforms: [{kind: scale}]
  - columns: [color]
    transforms: [{kind: one_hot}]
model:
  flavor: lightgbm
  estimator: LGBMClassifier
  params: {n_estimators: 20, verbose: -1}
registry:
  tags: {owner: research}
"""


def synthetic_frame(n=300, seed=0):
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    color = rng.choice(["red", "green", "blue"], size=n)
    y = ((x1 + (color == "red") + rng.normal(scale=0.7, size=n)) > 0.5).astype(int)
    return pd.DataFrame({"x1": x1, "x2": x2, "color": color, "y": y})


def fitted_pipeline(train):
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from shipyard.pipeline.estimators import make_estimator, model_pipeline

    spec = parse_spec(SPEC).spec
    transformer = ColumnTransformer([("num", StandardScaler(), ["x1", "x2"]),
                                     ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["color"])])
    model = model_pipeline(transformer, make_estimator(spec.model))
    return model.fit(train[["x1", "x2", "color"]], train["y"])


@pytest.fixture(scope="module")
def tracked(tmp_path_factory):
    """One real MLflow store (SQLite) with one logged pipeline run, shared by a module's tests."""
    from shipyard.config import load_settings
    from shipyard.tracking.pipeline_run import log_pipeline_run

    home = tmp_path_factory.mktemp("home")
    mp = pytest.MonkeyPatch()
    mp.setenv("SHIPYARD_HOME", str(home))
    mp.delenv("MLFLOW_TRACKING_URI", raising=False)
    settings = load_settings()
    spec = parse_spec(SPEC).spec
    frame = synthetic_frame()
    train, holdout = frame.iloc[:200].reset_index(drop=True), frame.iloc[200:].reset_index(drop=True)
    model = fitted_pipeline(train)
    sweep = {"metric": "roc_auc", "direction": "maximize", "best_params": {"num_leaves": 15}, "best_value": 0.9,
             "trials": [{"number": 0, "params": {"num_leaves": 15}, "value": 0.9, "state": "complete",
                         "duration_s": 0.1, "intermediate": {"0": 0.88, "1": 0.9}},
                        {"number": 1, "params": {"num_leaves": 40}, "value": 0.8, "state": "pruned",
                         "duration_s": 0.1, "intermediate": {"0": 0.8}}]}
    digests = {"source": "a" * 64, "train": "b" * 64, "holdout": "c" * 64, "validated": "d" * 64}
    result = log_pipeline_run(
        settings=settings, spec=spec, spec_text=SPEC, spec_filename="pipeline.yaml", pipeline_run_id="run123",
        model=model, train=train, holdout=holdout, target="y", data_digests=digests,
        params={"n_estimators": 20}, metrics={"roc_auc": 0.91, "f1": 0.8},
        slice_metrics={"color": {"red": {"roc_auc": 0.7, "n": 30}, "blue green": {"roc_auc": 0.8, "n": 70}}},
        validation_report={"passed": True}, sweep=sweep, tags={"owner": "research"})
    yield {"settings": settings, "result": result, "model": model, "holdout": holdout, "home": home}
    mp.undo()
