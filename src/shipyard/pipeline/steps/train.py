from __future__ import annotations

from typing import Any

from shipyard.errors import ShipyardError, UserCodeError
from shipyard.pipeline.task import StepContext, StepResult
from shipyard.spec.models import ModelSpec


def run(context: StepContext, train, transformer, sweep: dict[str, Any] | None = None) -> StepResult:
    from shipyard.pipeline.boosting import fit_with_checkpoints
    from shipyard.pipeline.estimators import make_estimator, model_pipeline

    model_spec = ModelSpec.model_validate(context.params["model"])
    target = context.params["target"]
    best = (sweep or {}).get("best_params") or {}
    estimator = make_estimator(model_spec, overrides=best, n_jobs=max(1, int(context.resources.cpu)))
    features = transformer.transform(train[list(transformer.feature_names_in_)])
    try:
        resumed = fit_with_checkpoints(estimator, features, train[target], checkpoints=context.checkpoints,
                                       every=context.settings.checkpoint_every,
                                       interval_s=context.resources.checkpoint_interval)
    except ShipyardError:
        raise
    except Exception as exc:
        raise UserCodeError(f"training {type(estimator).__name__} failed: {type(exc).__name__}: {exc}",
                            hint="check model.params and the target column") from exc
    params = {key: value for key, value in estimator.get_params(deep=False).items()
              if value is None or isinstance(value, (str, int, float, bool))}
    return StepResult(outputs={"model": model_pipeline(transformer, estimator), "params": params},
                      details={"estimator": type(estimator).__name__, "tuned": sorted(best), **resumed})
