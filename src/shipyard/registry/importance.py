"""Global feature importance for the model card: mean |SHAP| over a sample of the holdout, per input column.

Tree models (scikit-learn's forests and boosting, LightGBM, XGBoost) get SHAP's exact TreeExplainer,
linear ones its LinearExplainer, any other model its model-agnostic KernelExplainer, each over a
background sample of the holdout. A
``features`` + ``estimator`` pipeline is explained on its transformed features, and each transformed
feature's importance is added to the input column it came from (a one-hot column's levels add up to
their column). The cost is bounded: at most :data:`MAX_ROWS` rows, and when a timed trial on a few
rows says the whole sample would take longer than the budget, nothing is computed and the card says
why, as it does when the ``shap`` package is not installed.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

MAX_ROWS = 500
TRIAL_ROWS = 5
BACKGROUND_ROWS = 100
KERNEL_BACKGROUND_ROWS = 20
"""The model-agnostic explainer calls the model once per background row per coalition: kept small."""
BUDGET_S = 60.0
"""The longest the registration may spend on the importance (the trial's estimate of it)."""
INSTALL_HINT = "pip install 'shipyard[explain]'"


def feature_importance(model, holdout, target: str, *, task: str, max_rows: int = MAX_ROWS,
                       budget_s: float = BUDGET_S, seed: int = 0) -> dict[str, Any]:
    """``{"method", "rows", "seconds", "columns": {input column: mean |SHAP|, largest first}}``, or
    ``{"skipped": reason}`` when it was not computed."""
    started = time.perf_counter()
    try:
        import shap  # noqa: F401
    except ImportError:
        return {"skipped": f"the shap package is not installed ({INSTALL_HINT})"}
    from shipyard.registry.registration import feature_columns

    columns = feature_columns(model, holdout, target)
    frame = holdout[columns]
    sample = frame.sample(n=min(max_rows, len(frame)), random_state=seed) if len(frame) > max_rows else frame
    if sample.empty:
        return {"skipped": "the holdout is empty"}
    try:
        explained = _Explained(model, frame, task, seed)
        warm = time.perf_counter()
        explained.values(sample.head(TRIAL_ROWS))
        estimate = warm - started + (time.perf_counter() - warm) / min(TRIAL_ROWS, len(sample)) * len(sample)
        if estimate > budget_s:
            return {"skipped": f"explaining {len(sample)} rows would take about {estimate:.0f} s, over the "
                               f"budget of {budget_s:g} s"}
        values = explained.values(sample)
    except Exception as exc:  # shap refuses some models and data; the card records why, registration goes on
        return {"skipped": f"SHAP could not explain this model: {type(exc).__name__}: {exc}"}
    per_feature = _mean_abs(values, len(explained.names))
    totals: dict[str, float] = {}
    for name, value in zip(explained.names, per_feature):
        source = explained.source.get(name, name)
        totals[source] = totals.get(source, 0.0) + float(value)
    ordered = dict(sorted(totals.items(), key=lambda item: (-item[1], item[0])))
    return {"method": explained.method, "rows": int(len(sample)),
            "seconds": round(time.perf_counter() - started, 3), "columns": ordered}


class _Explained:
    """The part of ``model`` SHAP explains, the features it sees and which input column each came from."""

    def __init__(self, model, frame, task: str, seed: int):
        import shap

        steps = getattr(model, "named_steps", {})
        self.features = steps.get("features") if "estimator" in steps else None
        self.estimator = steps["estimator"] if self.features is not None else model
        inputs = list(frame.columns)
        if self.features is not None:
            self.names, self.source = _transformed_names(self.features, inputs)
        else:
            self.names, self.source = inputs, {}
        background = self._inputs(frame.sample(n=min(BACKGROUND_ROWS, len(frame)), random_state=seed))
        try:
            self.explainer = shap.TreeExplainer(self.estimator)
            self.method = "shap.TreeExplainer"
        except Exception:
            self.explainer = None
        if self.explainer is None and hasattr(self.estimator, "coef_"):
            try:
                self.explainer = shap.LinearExplainer(self.estimator, background)
                self.method = "shap.LinearExplainer"
            except Exception:
                self.explainer = None
        if self.explainer is None:
            predict = self.estimator.predict_proba if task == "classification" and \
                hasattr(self.estimator, "predict_proba") else self.estimator.predict
            self.explainer = shap.KernelExplainer(predict, background[:KERNEL_BACKGROUND_ROWS], seed=seed)
            self.method = "shap.KernelExplainer"

    def _inputs(self, frame) -> np.ndarray:
        if self.features is None:
            return frame
        return np.asarray(self.features.transform(frame), dtype=float)

    def values(self, frame) -> np.ndarray:
        # one thread: an OpenMP pool inherited across fork() (a step worker of a process that already
        # predicted with LightGBM) deadlocks on its first parallel region
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1):
            return self._values(frame)

    def _values(self, frame) -> np.ndarray:
        inputs = self._inputs(frame)
        if self.method == "shap.TreeExplainer":
            raw = self.explainer.shap_values(inputs, check_additivity=False)
        elif self.method == "shap.LinearExplainer":
            raw = self.explainer.shap_values(inputs)
        else:
            raw = self.explainer.shap_values(inputs, silent=True)
        return np.stack(raw, axis=-1) if isinstance(raw, list) else np.asarray(raw)


def _mean_abs(values: np.ndarray, n_features: int) -> np.ndarray:
    """Mean |SHAP| per feature, over rows and (for several outputs) over outputs."""
    values = np.abs(values)
    feature_axis = next(axis for axis in range(1, values.ndim) if values.shape[axis] == n_features)
    return values.mean(axis=tuple(a for a in range(values.ndim) if a != feature_axis))


def _transformed_names(transformer, inputs: list[str]) -> tuple[list[str], dict[str, str]]:
    """The transformed features' names and the input column (or columns, joined) each one came from."""
    names: list[str] = []
    source: dict[str, str] = {}
    for branch, _, columns in getattr(transformer, "transformers_", []):
        if branch == "remainder" or not len(columns):
            continue
        columns = [inputs[c] if isinstance(c, (int, np.integer)) else str(c) for c in columns]
        block = transformer.output_indices_[branch]
        try:
            outputs = [str(n) for n in transformer.named_transformers_[branch].get_feature_names_out(columns)]
        except Exception:
            outputs = []
        if len(outputs) != block.stop - block.start:
            outputs = [f"{branch}[{i}]" for i in range(block.stop - block.start)]
        for output in outputs:
            name = f"{branch}__{output}"
            names.append(name)
            matches = [c for c in columns if output == c or output.startswith(f"{c}_")]
            source[name] = max(matches, key=len) if matches else columns[0] if len(columns) == 1 else \
                " + ".join(columns)
    return names, source
