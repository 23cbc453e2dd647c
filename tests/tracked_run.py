"""Real MLflow stores holding logged pipeline runs, shared by the tracking and registry tests."""

import subprocess

import numpy as np
import pandas as pd
import pytest
import yaml

from shipyard.spec.models import PipelineSpec

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

FEATURES = ["x1", "x2", "color"]


class Identity:
    """A user-defined transformer: its module must be named to be trusted."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return X

    def get_params(self, deep=True):
        return {}

    def set_params(self, **params):
        return self

DIGESTS = {"source": "a" * 64, "train": "b" * 64, "holdout": "c" * 64, "validated": "d" * 64}
SWEEP = {"metric": "roc_auc", "direction": "maximize", "best_params": {"num_leaves": 15}, "best_value": 0.9,
         "trials": [{"number": 0, "params": {"num_leaves": 15}, "value": 0.9, "state": "complete",
                     "duration_s": 0.1, "intermediate": {"0": 0.88, "1": 0.9}},
                    {"number": 1, "params": {"num_leaves": 40}, "value": 0.8, "state": "pruned",
                     "duration_s": 0.1, "intermediate": {"0": 0.8}},
                    {"number": 2, "params": {"num_leaves": 7}, "value": None, "state": "fail",
                     "duration_s": None, "intermediate": {}}]}


def spec_from(text=SPEC, **changes) -> PipelineSpec:
    data = yaml.safe_load(text)
    data.update(changes)
    return PipelineSpec.model_validate(data)


def synthetic_frame(n=300, seed=0):
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    color = rng.choice(["red", "green", "blue"], size=n)
    y = ((x1 + (color == "red") + rng.normal(scale=0.7, size=n)) > 0.5).astype(int)
    return pd.DataFrame({"x1": x1, "x2": x2, "color": color, "y": y})


def split(frame):
    return frame.iloc[:200].reset_index(drop=True), frame.iloc[200:].reset_index(drop=True)


def features():
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    return ColumnTransformer([("num", StandardScaler(), ["x1", "x2"]),
                              ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["color"])])


def lightgbm_pipeline(train):
    from lightgbm import LGBMClassifier
    from sklearn.pipeline import Pipeline

    model = Pipeline([("features", features()), ("estimator", LGBMClassifier(n_estimators=20, verbose=-1))])
    return model.fit(train[FEATURES], train["y"])


def git_repo(path, spec_text=SPEC):
    """A git repository holding the spec, committed; its commit id."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "pipeline.yaml").write_text(spec_text)
    git = ["git", "-C", str(path), "-c", "user.name=t", "-c", "user.email=t@example.com",
           "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "pipeline.yaml"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "spec"], check=True)
    return subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()


def log_run(settings, *, spec=None, model=None, train=None, holdout=None, pipeline_run_id="run123", **overrides):
    from shipyard.tracking.pipeline_run import log_pipeline_run

    spec = spec or spec_from()
    if train is None:
        train, holdout = split(synthetic_frame())
    model = model if model is not None else lightgbm_pipeline(train)
    arguments = dict(
        settings=settings, spec=spec, spec_text=SPEC, spec_filename="pipeline.yaml", pipeline_run_id=pipeline_run_id,
        model=model, train=train, holdout=holdout, target="y", data_digests=DIGESTS,
        params={"n_estimators": 20, "verbose": -1}, metrics={"roc_auc": 0.91, "f1": 0.8},
        slice_metrics={"color": {"red": {"roc_auc": 0.7, "n": 30}, "blue green": {"roc_auc": 0.8, "n": 70}}},
        validation_report={"passed": True, "rows_in": np.int64(300)}, sweep=None, tags={"owner": "research"})
    arguments.update(overrides)
    return log_pipeline_run(**arguments), model, holdout


@pytest.fixture(scope="module")
def mlflow_home(tmp_path_factory):
    """A fresh SHIPYARD_HOME (so a fresh SQLite MLflow store) for one test module."""
    from shipyard.config import load_settings

    home = tmp_path_factory.mktemp("home")
    patch = pytest.MonkeyPatch()
    patch.setenv("SHIPYARD_HOME", str(home))
    patch.delenv("MLFLOW_TRACKING_URI", raising=False)
    patch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    yield load_settings()
    patch.undo()


@pytest.fixture(scope="module")
def tracked(mlflow_home, tmp_path_factory):
    """One logged pipeline run, with a sweep, from a spec committed in a git repository."""
    from mlflow.tracking import MlflowClient

    source_dir = tmp_path_factory.mktemp("project")
    commit = git_repo(source_dir)
    result, model, holdout = log_run(mlflow_home, sweep=SWEEP, source_dir=source_dir)
    client = MlflowClient(tracking_uri=mlflow_home.mlflow_tracking_uri, registry_uri=mlflow_home.mlflow_tracking_uri)
    return {"settings": mlflow_home, "result": result, "model": model, "holdout": holdout,
            "home": mlflow_home.home, "commit": commit, "client": client}
