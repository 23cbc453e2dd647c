import pytest

from lifecycle_moves import move
from live_server import LiveServer
from tracked_run import mlflow_home, tracked  # noqa: F401  (module-scoped fixtures)


@pytest.fixture(scope="module")
def live_gateway(tracked):
    from shipyard.serving.app import create_app
    from shipyard.serving.loaded import load_for_serving

    loaded = load_for_serving("synth", tracked["result"].model_version, settings=tracked["settings"])
    with LiveServer(create_app([loaded], max_body_bytes=64 * 1024)) as server:
        server.loaded, server.settings = loaded, tracked["settings"]
        yield server


def _strict_colors_pipeline(train, *, colors_with_blank: bool):
    """A model that fails on a color it never saw; with a blank color in training it passes the warm-up."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    frame = train.copy()
    if colors_with_blank:
        frame.loc[frame.index[:5], "color"] = ""
    features = ColumnTransformer([("num", StandardScaler(), ["x1", "x2"]),
                                  ("cat", OneHotEncoder(handle_unknown="error", sparse_output=False), ["color"])])
    return Pipeline([("features", features), ("estimator", LogisticRegression())]).fit(
        frame[["x1", "x2", "color"]], frame["y"])


@pytest.fixture(scope="module")
def fleet(tracked):
    """Registered, loadable versions of 'synth': 1 (the tracked run) and 2 sound, 3 fails on unseen colors,
    4 fails its warm-up. 1 is in production, 2 and 3 in staging, 4 a candidate."""
    from lightgbm import LGBMClassifier
    from sklearn.pipeline import Pipeline

    from shipyard.registry import lifecycle
    from tracked_run import FEATURES, features, log_run, split, synthetic_frame

    settings = tracked["settings"]
    train, holdout = split(synthetic_frame())
    second = Pipeline([("features", features()),
                       ("estimator", LGBMClassifier(n_estimators=40, verbose=-1))]).fit(train[FEATURES], train["y"])
    versions = {"1": tracked["result"].model_version}
    for run_id, model in (("run-sound", second),
                          ("run-strict", _strict_colors_pipeline(train, colors_with_blank=True)),
                          ("run-cold", _strict_colors_pipeline(train, colors_with_blank=False))):
        result, _, _ = log_run(settings, model=model, train=train, holdout=holdout, pipeline_run_id=run_id)
        versions[run_id] = result.model_version
    assert list(versions.values()) == ["1", "2", "3", "4"]
    for version in versions.values():
        lifecycle.register_candidate("synth", version, actor="pipeline", settings=settings)
    for version, path in (("1", ("staging", "production")), ("2", ("staging",)), ("3", ("staging",))):
        for state in path:
            move("synth", version, state, actor="test", settings=settings)
    return settings
