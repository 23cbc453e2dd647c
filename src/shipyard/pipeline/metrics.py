"""Holdout metrics by task type, overall and per slice.

Which metrics exist, their task and their direction live in ``shipyard.spec.metrics``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from shipyard.spec.metrics import TASKS, default_metrics, metric_names

DEFAULT_METRICS = {task: default_metrics(task) for task in TASKS}


def metrics_for(task: str, requested: list[str] | None) -> tuple[str, ...]:
    """The metric names to compute: ``requested`` (all of the task's) or the task's defaults."""
    allowed = metric_names(task)
    names = tuple(requested) if requested else DEFAULT_METRICS[task]
    wrong = [m for m in names if m not in allowed]
    if wrong:
        from shipyard.errors import SpecError

        raise SpecError(f"metric(s) {wrong} do not apply to {task}",
                        hint=f"{task} metrics: {', '.join(allowed)}")
    return names


def predict_for_metrics(model, frame, task: str) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """(predictions, class probabilities or None, classes)."""
    if task == "classification" and hasattr(model, "predict_proba"):
        proba = np.asarray(model.predict_proba(frame))
        classes = np.asarray(model.classes_)
        return classes[proba.argmax(axis=1)], proba, classes
    classes = getattr(model, "classes_", []) if task == "classification" else []
    return np.asarray(model.predict(frame)), None, np.asarray(classes)


def compute_metrics(task: str, names: tuple[str, ...], y_true, y_pred, proba=None, classes=None,
                    threshold: float = 0.5) -> dict[str, float | None]:
    from sklearn import metrics as m

    y_true = np.asarray(y_true)
    out: dict[str, float | None] = {}
    if task == "regression":
        for name in names:
            if name == "rmse":
                out[name] = float(np.sqrt(m.mean_squared_error(y_true, y_pred)))
            elif name == "mae":
                out[name] = float(m.mean_absolute_error(y_true, y_pred))
            elif name == "r2":
                out[name] = float(m.r2_score(y_true, y_pred)) if len(y_true) > 1 else None
            elif name == "mape":
                out[name] = float(m.mean_absolute_percentage_error(y_true, y_pred))
        return out
    classes = np.asarray([] if classes is None else classes)
    binary = len(classes) == 2
    if binary and proba is not None:
        y_pred = np.where(proba[:, 1] >= threshold, classes[1], classes[0])
    average = "binary" if binary else "macro"
    pos_label = classes[1] if binary else 1
    present = np.unique(y_true)
    for name in names:
        value: float | None = None
        try:
            if name == "accuracy":
                value = m.accuracy_score(y_true, y_pred)
            elif name == "precision":
                value = m.precision_score(y_true, y_pred, average=average, pos_label=pos_label, zero_division=0)
            elif name == "recall":
                value = m.recall_score(y_true, y_pred, average=average, pos_label=pos_label, zero_division=0)
            elif name == "f1":
                value = m.f1_score(y_true, y_pred, average=average, pos_label=pos_label, zero_division=0)
            elif proba is None:
                value = None
            elif len(present) < 2:
                value = None  # ranking metrics are undefined on a single class
            elif name == "roc_auc":
                value = (m.roc_auc_score(y_true, proba[:, 1]) if binary
                         else m.roc_auc_score(y_true, proba, multi_class="ovr", labels=classes))
            elif name == "pr_auc":
                value = (m.average_precision_score(y_true, proba[:, 1], pos_label=pos_label) if binary
                         else None)
            elif name == "log_loss":
                value = m.log_loss(y_true, proba, labels=classes)
            elif name == "brier":
                value = m.brier_score_loss(y_true, proba[:, 1], pos_label=pos_label) if binary else None
        except ValueError:
            value = None
        out[name] = None if value is None or not math.isfinite(float(value)) else float(value)
    return out


def evaluate_model(model, frame, *, target: str, task: str, names: tuple[str, ...], slices: list[str],
                   threshold: float) -> dict[str, Any]:
    features = frame[list(model.feature_names_in_)]
    y_true = frame[target].to_numpy()
    y_pred, proba, classes = predict_for_metrics(model, features, task)
    overall = compute_metrics(task, names, y_true, y_pred, proba, classes, threshold)
    per_slice: dict[str, dict[str, dict[str, Any]]] = {}
    for column in slices:
        values = frame[column].astype("string").fillna("<missing>").to_numpy()
        groups: dict[str, dict[str, Any]] = {}
        for value in sorted(set(values)):
            mask = values == value
            metrics = compute_metrics(task, names, y_true[mask], y_pred[mask],
                                      None if proba is None else proba[mask], classes, threshold)
            groups[str(value)] = {**metrics, "n": int(mask.sum())}
        per_slice[column] = groups
    return {"overall": overall, "slices": per_slice, "n": int(len(frame)), "task": task,
            "threshold": threshold if task == "classification" else None}
