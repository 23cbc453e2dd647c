"""One sweep trial, run in a worker: cross-validate the pipeline with the trial's parameters."""

from __future__ import annotations

from typing import Any

import numpy as np

from shipyard.config import Settings
from shipyard.errors import UserCodeError
from shipyard.spec.models import ModelSpec, SweepSpec

_FRAMES: dict[str, Any] = {}


def _train_frame(settings: Settings, ref: dict[str, str]):
    """Trials of one sweep share a worker-local copy of the training frame."""
    digest = ref["digest"]
    if digest not in _FRAMES:
        from shipyard.pipeline.artifacts import open_artifact_store
        from shipyard.pipeline.serialization import load_value

        _FRAMES.clear()
        _FRAMES[digest] = load_value(open_artifact_store(settings), ref)
    return _FRAMES[digest]


def _folds(task: str, y, n_folds: int, seed: int):
    from sklearn.model_selection import KFold, StratifiedKFold

    if task == "classification":
        smallest = int(np.unique(y, return_counts=True)[1].min())
        if smallest >= n_folds:
            return StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed).split(np.zeros(len(y)), y)
    return KFold(n_splits=n_folds, shuffle=True, random_state=seed).split(np.zeros(len(y)))


def run_trial(*, params: dict[str, Any], train_ref: dict[str, str], trial_params: dict[str, Any],
              settings: Settings, study_name: str | None, storage_url: str | None, trial_id: int | None,
              n_jobs: int = 1) -> dict[str, Any]:
    from sklearn.base import clone

    from shipyard.pipeline.estimators import make_estimator, model_pipeline
    from shipyard.pipeline.metrics import compute_metrics, predict_for_metrics
    from shipyard.pipeline.steps.features import input_columns, unfitted_transformer

    sweep = SweepSpec.model_validate(params["sweep"])
    model_spec = ModelSpec.model_validate(params["model"])
    task, target = params["task"], params["target"]
    frame = _train_frame(settings, train_ref)
    features, y = frame[input_columns(params)], frame[target].to_numpy()
    template = model_pipeline(unfitted_transformer(params, frame.columns),
                              make_estimator(model_spec, overrides=trial_params, n_jobs=n_jobs))
    trial = _optuna_trial(study_name, storage_url, trial_id) if sweep.pruning else None
    scores: list[float] = []
    intermediate: dict[int, float] = {}
    for fold, (fit_idx, val_idx) in enumerate(_folds(task, y, sweep.cv_folds, sweep.sampler_seed)):
        model = clone(template)
        try:
            model.fit(features.iloc[fit_idx], y[fit_idx])
        except Exception as exc:
            raise UserCodeError(f"trial with {trial_params} failed to fit: {type(exc).__name__}: {exc}") from exc
        y_pred, proba, classes = predict_for_metrics(model, features.iloc[val_idx], task)
        value = compute_metrics(task, (sweep.metric,), y[val_idx], y_pred, proba, classes)[sweep.metric]
        if value is None:
            raise UserCodeError(f"metric '{sweep.metric}' is undefined on fold {fold} of this data")
        scores.append(value)
        intermediate[fold] = float(np.mean(scores))
        if trial is not None:
            trial.report(intermediate[fold], fold)
            if fold < sweep.cv_folds - 1 and trial.should_prune():
                return {"state": "pruned", "value": intermediate[fold], "intermediate": intermediate}
    return {"state": "complete", "value": float(np.mean(scores)), "intermediate": intermediate}


def _optuna_trial(study_name, storage_url, trial_id):
    if not (study_name and storage_url and trial_id is not None):
        return None
    import optuna

    from shipyard.pipeline.sweep import open_storage, pruner

    study = optuna.load_study(study_name=study_name, storage=open_storage(storage_url), pruner=pruner())
    return optuna.trial.Trial(study, trial_id)
