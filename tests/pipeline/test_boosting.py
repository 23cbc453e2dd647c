"""Boosted models trained with checkpoints: stopped after a saved round, resumed, equal to an unbroken fit."""

import numpy as np
import pytest
from sklearn.datasets import make_classification

from shipyard.errors import PreemptedError
from shipyard.pipeline import checkpoint
from shipyard.pipeline.artifacts import LocalArtifactStore
from shipyard.pipeline.boosting import booster_library, fit_with_checkpoints
from shipyard.pipeline.checkpoint import Checkpoints


def _estimator(library, n_estimators):
    if library == "xgboost":
        xgboost = pytest.importorskip("xgboost")
        return xgboost.XGBClassifier(n_estimators=n_estimators, max_depth=3, n_jobs=1)
    lightgbm = pytest.importorskip("lightgbm")
    return lightgbm.LGBMClassifier(n_estimators=n_estimators, num_leaves=7, n_jobs=1, verbose=-1)


def _rounds(estimator):
    if booster_library(estimator) == "xgboost":
        return estimator.get_booster().num_boosted_rounds()
    return estimator.booster_.current_iteration()


@pytest.fixture
def data():
    return make_classification(n_samples=600, n_features=8, random_state=0)


@pytest.fixture
def checkpoints(tmp_path):
    checkpoint.reset()
    yield Checkpoints(store=LocalArtifactStore(tmp_path), run_id="r1", step="train", fingerprint=lambda: "k")
    checkpoint.reset()


@pytest.mark.parametrize("library", ["xgboost", "lightgbm"])
def test_a_stopped_fit_resumes_from_its_checkpoint_into_the_unbroken_model(library, data, checkpoints):
    features, target = data
    unbroken = _estimator(library, 40).fit(features, target)

    stopped = _estimator(library, 40)
    saves = []
    original_save = checkpoints.save

    def save_and_stop_at_round_20(state, *, progress=None):
        original_save(state, progress=progress)
        saves.append(progress)
        if progress == 20:
            checkpoint.request_stop()

    checkpoints.save = save_and_stop_at_round_20
    with pytest.raises(PreemptedError, match=r"after 21 of 40 boosting rounds"):
        fit_with_checkpoints(stopped, features, target, checkpoints=checkpoints, every=10)
    assert saves == [10, 20, 21]  # periodic, then the round it was told to stop in
    assert checkpoints.load().progress == 21

    checkpoint.reset()
    resumed = _estimator(library, 40)
    details = fit_with_checkpoints(resumed, features, target, checkpoints=checkpoints, every=10)
    assert details == {"boosting_rounds": 40, "checkpoint_every": 10, "resumed_from_round": 21}
    assert _rounds(resumed) == 40
    assert resumed.get_params()["n_estimators"] == 40
    assert np.array_equal(resumed.predict_proba(features), unbroken.predict_proba(features))
    if library == "xgboost":
        assert resumed.get_booster().save_raw("ubj") == unbroken.get_booster().save_raw("ubj")
    else:  # the same trees; the model file's parameters record the last leg's num_iterations
        assert resumed.booster_.dump_model()["tree_info"] == unbroken.booster_.dump_model()["tree_info"]


@pytest.mark.parametrize("library", ["xgboost", "lightgbm"])
def test_the_last_round_is_never_a_checkpoint_and_a_stop_there_finishes(library, data, checkpoints):
    features, target = data
    checkpoint.request_stop()
    estimator = _estimator(library, 1)
    assert fit_with_checkpoints(estimator, features, target, checkpoints=checkpoints, every=1) == {
        "boosting_rounds": 1, "checkpoint_every": 1}
    assert checkpoints.load() is None


def test_a_checkpoint_of_other_inputs_is_not_resumed(data, tmp_path):
    features, target = data
    store = LocalArtifactStore(tmp_path)
    old = Checkpoints(store=store, run_id="r1", step="train", fingerprint=lambda: "old inputs")
    checkpoint.reset()
    checkpoint.request_stop()
    with pytest.raises(PreemptedError):
        fit_with_checkpoints(_estimator("lightgbm", 30), features, target, checkpoints=old, every=10)
    checkpoint.reset()
    new = Checkpoints(store=store, run_id="r1", step="train", fingerprint=lambda: "new inputs")
    details = fit_with_checkpoints(_estimator("lightgbm", 30), features, target, checkpoints=new, every=10)
    assert "resumed_from_round" not in details and details["boosting_rounds"] == 30


def test_models_that_are_not_boosters_fit_as_before(data, checkpoints):
    from sklearn.linear_model import LogisticRegression

    features, target = data
    model = LogisticRegression()
    assert booster_library(model) is None
    assert fit_with_checkpoints(model, features, target, checkpoints=checkpoints, every=1) == {}
    assert model.predict(features).shape == (600,)


@pytest.mark.parametrize("library", ["xgboost", "lightgbm"])
def test_a_checkpoint_interval_saves_however_few_rounds_have_passed(library, data, checkpoints):
    features, target = data
    saves = []
    original_save = checkpoints.save

    def counted(state, *, progress=None):
        original_save(state, progress=progress)
        saves.append(progress)

    checkpoints.save = counted
    details = fit_with_checkpoints(_estimator(library, 12), features, target, checkpoints=checkpoints, every=1000,
                                   interval_s=1e-9)
    assert saves == list(range(1, 12))  # every round is past the interval; the last one is the model itself
    assert details == {"boosting_rounds": 12, "checkpoint_every": 1000, "checkpoint_interval_s": 1e-9}

    saves.clear()
    checkpoints.clear()
    details = fit_with_checkpoints(_estimator(library, 12), features, target, checkpoints=checkpoints, every=1000,
                                   interval_s=3600)
    assert "resumed_from_round" not in details and details["boosting_rounds"] == 12
    assert saves == []  # neither the rounds nor the hour came round
