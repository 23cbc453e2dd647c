"""Feature importance for the model card: mean |SHAP| over a sample of the holdout, per input column, overall
and per value of each slice column the spec declares.

Tree models (scikit-learn's forests and boosting, LightGBM, XGBoost) get SHAP's exact TreeExplainer,
linear ones its LinearExplainer, any other model its model-agnostic KernelExplainer, each over a
background sample of the holdout. A
``features`` + ``estimator`` pipeline is explained on its transformed features, and each transformed
feature's importance is added to the input column it came from (a one-hot column's levels add up to
their column). The cost is bounded: at most :data:`MAX_ROWS` rows, and when a timed trial on a few
rows says the whole sample would take longer than the budget, nothing is computed and the card says
why, as it does when the ``shap`` package is not installed.

The SHAP values themselves are kept too (:func:`explain`): one row per explained holdout row, one
column per input column (``shap[COLUMN]``, or ``shap[COLUMN][OUTPUT]`` for a model with several
outputs) holding the sum of the SHAP values of the features that came from it, beside the row's
holdout index and its slice columns; the register step stores them as a Parquet artifact.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

MAX_ROWS = 500
TRIAL_ROWS = 5
BACKGROUND_ROWS = 100
KERNEL_BACKGROUND_ROWS = 20
"""The model-agnostic explainer calls the model once per background row per coalition: kept small."""
BUDGET_S = 60.0
"""The longest the registration may spend on the importance (the trial's estimate of it)."""
INSTALL_HINT = "pip install 'shipyard[explain]'"


MISSING = "<missing>"
"""A slice value for rows where the slice column is empty (as in the metrics per slice)."""


def feature_importance(model, holdout, target: str, *, task: str, slices: list[str] | tuple[str, ...] = (),
                       max_rows: int = MAX_ROWS, budget_s: float = BUDGET_S, seed: int = 0) -> dict[str, Any]:
    """``{"method", "rows", "seconds", "columns": {input column: mean |SHAP|, largest first}, "slices":
    {slice column: {value: {"rows", "columns"}}}}``, or ``{"skipped": reason}`` when it was not computed."""
    return explain(model, holdout, target, task=task, slices=slices, max_rows=max_rows, budget_s=budget_s,
                   seed=seed)[0]


def explain(model, holdout, target: str, *, task: str, slices: list[str] | tuple[str, ...] = (),
            max_rows: int = MAX_ROWS, budget_s: float = BUDGET_S,
            seed: int = 0) -> tuple[dict[str, Any], pd.DataFrame | None]:
    """The importance :func:`feature_importance` returns and the SHAP values per row and input column (None when
    skipped)."""
    started = time.perf_counter()
    try:
        import shap  # noqa: F401
    except ImportError:
        return {"skipped": f"the shap package is not installed ({INSTALL_HINT})"}, None
    from shipyard.registry.registration import feature_columns

    missing = [column for column in slices if column not in holdout.columns]
    if missing:
        return {"skipped": f"slice column(s) {', '.join(missing)} are not in the holdout"}, None
    columns = feature_columns(model, holdout, target)
    frame = holdout[columns]
    sample = frame.sample(n=min(max_rows, len(frame)), random_state=seed) if len(frame) > max_rows else frame
    if sample.empty:
        return {"skipped": "the holdout is empty"}, None
    try:
        explained = _Explained(model, frame, task, seed)
        warm = time.perf_counter()
        explained.values(sample.head(TRIAL_ROWS))
        estimate = warm - started + (time.perf_counter() - warm) / min(TRIAL_ROWS, len(sample)) * len(sample)
        if estimate > budget_s:
            return {"skipped": f"explaining {len(sample)} rows would take about {estimate:.0f} s, over the "
                               f"budget of {budget_s:g} s"}, None
        values = explained.values(sample)
    except Exception as exc:  # shap refuses some models and data; the card records why, registration goes on
        return {"skipped": f"SHAP could not explain this model: {type(exc).__name__}: {exc}"}, None
    slice_values = {column: holdout.loc[sample.index, column].astype("string").fillna(MISSING).to_numpy()
                    for column in slices}
    per_slice = {column: {str(value): {"rows": int((found == value).sum()),
                                       "columns": _column_importance(values[found == value], explained)}
                          for value in sorted(set(found))}
                 for column, found in slice_values.items()}
    summary = {"method": explained.method, "rows": int(len(sample)),
               "seconds": round(time.perf_counter() - started, 3), "columns": _column_importance(values, explained),
               "slices": per_slice}
    return summary, _values_frame(values, explained, sample.index, slice_values)


def store_values(values: pd.DataFrame, *, settings) -> dict[str, Any]:
    """Keep the SHAP values as a Parquet artifact; what the card links to: its digest, where it lies, its shape."""
    import io

    from shipyard.pipeline.artifacts import open_artifact_store

    buffer = io.BytesIO()
    values.to_parquet(buffer, index=False)
    digest = open_artifact_store(settings).put(buffer.getvalue())
    return {"sha256": digest, "format": "parquet", "rows": int(len(values)),
            "location": f"{str(settings.artifact_root).rstrip('/')}/sha256/{digest[:2]}/{digest}",
            "columns": [c for c in values.columns if c.startswith("shap[")]}


def _column_importance(values: np.ndarray, explained: _Explained) -> dict[str, float]:
    """Input column -> the mean |SHAP| of the features that came from it, summed; largest first."""
    per_feature = _mean_abs(values, len(explained.names))
    totals: dict[str, float] = {}
    for name, value in zip(explained.names, per_feature):
        source = explained.source.get(name, name)
        totals[source] = totals.get(source, 0.0) + float(value)
    return dict(sorted(totals.items(), key=lambda item: (-item[1], item[0])))


def _values_frame(values: np.ndarray, explained: _Explained, index, slice_values: dict[str, np.ndarray]):
    """The SHAP values summed per input column, a row per explained row (see the module's docstring)."""
    import pandas as pd

    feature_axis = next(axis for axis in range(1, values.ndim) if values.shape[axis] == len(explained.names))
    values = np.moveaxis(values, feature_axis, 1).reshape(values.shape[0], len(explained.names), -1)
    outputs = values.shape[2]
    sources = [explained.source.get(name, name) for name in explained.names]
    data: dict[str, Any] = {"row": np.asarray(index).astype(str)}
    data.update({f"slice[{column}]": found.astype(object) for column, found in slice_values.items()})
    for column in dict.fromkeys(sources):
        chosen = [i for i, source in enumerate(sources) if source == column]
        summed = values[:, chosen, :].sum(axis=1)
        for output in range(outputs):
            name = f"shap[{column}]" if outputs == 1 else f"shap[{column}][{explained.output_name(output)}]"
            data[name] = summed[:, output].astype("float64")
    return pd.DataFrame(data)


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

    def output_name(self, output: int) -> str:
        classes = getattr(self.estimator, "classes_", None)
        return str(classes[output]) if classes is not None and output < len(classes) else str(output)

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
