from __future__ import annotations

from shipyard.errors import ShipyardError, UserCodeError
from shipyard.pipeline.task import StepContext, StepResult
from shipyard.spec.models import FeatureGroup


def groups_of(params) -> list[FeatureGroup]:
    return [FeatureGroup.model_validate(g) for g in params["features"]]


def unfitted_transformer(params, columns):
    from shipyard.data.features import build_feature_transformer

    return build_feature_transformer(groups_of(params), available_columns=[str(c) for c in columns])


def input_columns(params) -> list[str]:
    from shipyard.data.features import feature_input_columns

    return feature_input_columns(groups_of(params))


def run(context: StepContext, train) -> StepResult:
    target = context.params["target"]
    transformer = unfitted_transformer(context.params, train.columns)
    features = train[input_columns(context.params)]
    try:
        transformer.fit(features, train[target])
    except ShipyardError:
        raise
    except Exception as exc:
        raise UserCodeError(f"fitting the feature transformers failed: {type(exc).__name__}: {exc}",
                            hint="check the 'features' section against the data") from exc
    names = [str(n) for n in transformer.get_feature_names_out()]
    return StepResult(outputs={"transformer": transformer},
                      details={"features_out": len(names)})
