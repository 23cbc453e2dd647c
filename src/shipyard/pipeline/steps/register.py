"""The register step: log the run to MLflow and register its version, or, while the tracking server is
out, log it to the local fallback store and leave the version to ``shipyard tracking sync``."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from shipyard.pipeline.task import StepContext, StepResult
from shipyard.spec.loader import parse_spec


def run(context: StepContext, model, params, metrics, train, holdout, report, validated,
        sweep: dict[str, Any] | None = None) -> StepResult:
    from shipyard.governance.identity import current_actor
    from shipyard.pipeline.candidate import record_candidate, store_profile
    from shipyard.store.runs import get_run
    from shipyard.tracking.outage import PENDING_SYNC, SYNC_COMMAND, TrackingBreaker
    from shipyard.tracking.pipeline_run import log_pipeline_run

    spec = parse_spec(context.params["spec_text"], source=context.params["spec_filename"],
                      base_dir=context.base_dir).spec
    digests = {
        "source": context.params["source_digest"],
        "validated": validated["digest"],
        "train": context.input_digest("train"),
        "holdout": context.input_digest("holdout"),
    }

    def log(settings, register: bool):
        return log_pipeline_run(
            settings=settings, spec=spec, spec_text=context.params["spec_text"],
            spec_filename=context.params["spec_filename"], pipeline_run_id=context.run_id, model=model,
            train=train, holdout=holdout, target=context.params["target"],
            data_digests={k: v for k, v in digests.items() if v}, params=params,
            metrics={k: v for k, v in metrics["overall"].items() if v is not None},
            slice_metrics=metrics["slices"], validation_report=report, sweep=sweep,
            extra_modules=context.extra_modules, tags=dict(spec.registry.tags), source_dir=context.base_dir,
            register=register)

    tracked = TrackingBreaker(context.settings).call(
        lambda settings: log(settings, register=settings.mlflow_tracking_uri == context.settings.mlflow_tracking_uri))
    run_record = tracked.value
    profile = _reference_profile(context, spec, model, train, holdout)
    card_facts = _card_facts(context, spec, run_record, digests, params, metrics, report, train, holdout,
                             model)
    feature_spec = _feature_spec(context, spec, model, train)
    if tracked.pending_sync:
        registration = {**asdict(run_record), "data_digests": digests, "card_facts": card_facts,
                        "tracking": PENDING_SYNC, "tracking_reason": tracked.reason, "feature_spec": feature_spec,
                        "reference_profile": store_profile(profile, settings=context.settings)}
        return StepResult(outputs={"registration": registration},
                          details={"model": f"{run_record.model_name}: registered at `{SYNC_COMMAND}`",
                                   "tracking": PENDING_SYNC, "mlflow_run_id": run_record.mlflow_run_id},
                          cacheable=False)
    started_by = get_run(context.run_id, settings=context.settings).started_by
    facts = record_candidate(spec=spec, model_name=run_record.model_name, version=run_record.model_version,
                             mlflow_run_id=run_record.mlflow_run_id, pipeline_run_id=context.run_id,
                             started_by=started_by, digests=digests, profile=profile, card_facts=card_facts,
                             feature_spec=feature_spec,
                             actor=current_actor(), settings=context.settings)
    registration = {**asdict(run_record), "data_digests": digests, "card_facts": facts}
    return StepResult(outputs={"registration": registration},
                      details={"model": f"{run_record.model_name} v{run_record.model_version}",
                               "mlflow_run_id": run_record.mlflow_run_id})


def _card_facts(context: StepContext, spec, tracked, digests, params, metrics, report, train, holdout,
                model) -> dict[str, Any]:
    """The card's facts known when the run is logged (the version and profile are filled in at registration)."""
    from shipyard.registry.cards import CardFacts
    from shipyard.tracking.environment import capture_environment

    facts = CardFacts(
        model=tracked.model_name, version=str(tracked.model_version or ""), pipeline=spec.name,
        description=spec.description, team=spec.team, pipeline_run_id=context.run_id,
        mlflow_run_id=tracked.mlflow_run_id, flavor=spec.model.flavor, estimator=spec.model.estimator,
        task=spec.task(), data_source=_describe_source(spec), data_digests={k: v for k, v in digests.items() if v},
        rows={"train": int(len(train)), "holdout": int(len(holdout))}, validation=report,
        features=[g.model_dump(mode="json") for g in spec.features], params=params,
        metrics=metrics["overall"], slice_metrics=metrics["slices"], environment=capture_environment(),
        feature_importance=_importance(context, spec, model, holdout)
        if spec.evaluation.explain else {"skipped": "not asked for (evaluation: explain: true in the spec)"},
    )
    return asdict(facts)


def _importance(context: StepContext, spec, model, holdout) -> dict[str, Any]:
    """Mean |SHAP| overall and per slice for the card; the SHAP values stored as their own artifact."""
    from shipyard.registry.importance import explain, store_values

    found, values = explain(model, holdout, context.params["target"], task=spec.task(),
                            slices=spec.evaluation.slices)
    if values is not None:
        found["values"] = store_values(values, settings=context.settings)
    return found


def _reference_profile(context: StepContext, spec, model, train, holdout) -> dict[str, Any]:
    """The profile of the training inputs and the holdout predictions, for drift monitoring."""
    from shipyard.monitoring.profile import build_profile
    from shipyard.registry.registration import feature_columns

    columns = feature_columns(model, holdout, context.params["target"])
    predictions = model.predict(holdout[columns])
    return build_profile(train[columns], predictions, task=spec.task())


def _feature_spec(context: StepContext, spec, model, train) -> dict[str, Any]:
    from shipyard.registry.feature_spec import build_feature_spec
    from shipyard.registry.registration import feature_columns

    return build_feature_spec(spec, train[feature_columns(model, train, context.params["target"])],
                              context.base_dir)


def _describe_source(spec) -> str:
    source = spec.data.source
    where = getattr(source, "path", None) or getattr(source, "query", "")
    return f"{source.type}: {where}"
