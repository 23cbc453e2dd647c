"""Holdout metrics as computed: every registered metric is computed for its task, in its registered direction."""

import numpy as np
import pytest
from sklearn import metrics as sk

from shipyard.pipeline.metrics import DEFAULT_METRICS, compute_metrics, metrics_for
from shipyard.spec.metrics import METRICS, default_metrics, metric_names

RNG = np.random.default_rng(0)


def _binary():
    y = RNG.integers(0, 2, size=400)
    good = np.clip(np.where(y == 1, 0.8, 0.2) + RNG.normal(scale=0.1, size=400), 0.01, 0.99)
    poor = np.clip(0.5 + RNG.normal(scale=0.2, size=400), 0.01, 0.99)
    return y, good, poor


def _scores(y, positive):
    proba = np.column_stack([1 - positive, positive])
    classes = np.array([0, 1])
    return compute_metrics("classification", metric_names("classification"), y, classes[proba.argmax(axis=1)],
                           proba, classes)


def test_every_classification_metric_is_computed_and_better_in_its_direction():
    y, good, poor = _binary()
    strong, weak = _scores(y, good), _scores(y, poor)
    assert set(strong) == set(metric_names("classification")) and None not in strong.values()
    for name, value in strong.items():
        better = value > weak[name] if METRICS[name].direction == "maximize" else value < weak[name]
        assert better, f"{name}: {value} vs {weak[name]} contradicts {METRICS[name].direction}"


def test_every_regression_metric_is_computed_and_better_in_its_direction():
    y = RNG.normal(100, 20, size=300)
    names = metric_names("regression")
    close = compute_metrics("regression", names, y, y + RNG.normal(scale=2, size=300))
    far = compute_metrics("regression", names, y, y + RNG.normal(scale=20, size=300))
    assert set(close) == set(names) and None not in close.values()
    for name in names:
        better = close[name] > far[name] if METRICS[name].direction == "maximize" else close[name] < far[name]
        assert better, f"{name}: {close[name]} vs {far[name]} contradicts {METRICS[name].direction}"


def test_multiclass_precision_recall_f1_are_macro_averages():
    y = np.array(["a"] * 50 + ["b"] * 30 + ["c"] * 20)
    proba = RNG.dirichlet([1, 1, 1], size=100)
    classes = np.array(["a", "b", "c"])
    predicted = classes[proba.argmax(axis=1)]
    scores = compute_metrics("classification", ("precision", "recall", "f1"), y, predicted, proba, classes)
    assert scores["f1"] == pytest.approx(sk.f1_score(y, predicted, average="macro"))
    assert scores["precision"] == pytest.approx(sk.precision_score(y, predicted, average="macro", zero_division=0))
    assert scores["recall"] == pytest.approx(sk.recall_score(y, predicted, average="macro"))


def test_binary_precision_recall_f1_are_of_the_positive_class_with_or_without_probabilities():
    from sklearn.svm import LinearSVC

    from shipyard.pipeline.metrics import predict_for_metrics

    x = RNG.normal(size=(200, 2))
    y = np.where(x[:, 0] + RNG.normal(scale=0.8, size=200) > 0.5, "yes", "no")
    model = LinearSVC().fit(x, y)
    predicted, proba, classes = predict_for_metrics(model, x, "classification")
    assert proba is None and list(classes) == ["no", "yes"]
    scores = compute_metrics("classification", ("precision", "recall", "f1"), y, predicted, proba, classes)
    assert scores["f1"] == pytest.approx(sk.f1_score(y, predicted, pos_label="yes"))
    assert scores["recall"] == pytest.approx(sk.recall_score(y, predicted, pos_label="yes"))


def test_default_metrics_come_from_the_registry():
    assert DEFAULT_METRICS == {"classification": default_metrics("classification"),
                               "regression": default_metrics("regression")}
    assert metrics_for("regression", None) == ("rmse", "mae", "r2")
