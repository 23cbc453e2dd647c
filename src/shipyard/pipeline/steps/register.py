from __future__ import annotations

from dataclasses import asdict
from typing import Any

from shipyard.pipeline.task import StepContext, StepResult
from shipyard.spec.loader import parse_spec


def run(context: StepContext, model, params, metrics, train, holdout, report, validated,
        sweep: dict[str, Any] | None = None) -> StepResult:
    from shipyard.governance.identity import current_actor
    from shipyard.registry.lifecycle import register_candidate
    from shipyard.store.runs import get_run
    from shipyard.registry.cards import CardFacts, write_card
    from shipyard.tracking.environment import capture_environment
    from shipyard.tracking.pipeline_run import log_pipeline_run

    spec = parse_spec(context.params["spec_text"], source=context.params["spec_filename"],
                      base_dir=context.base_dir).spec
    digests = {
        "source": context.params["source_digest"],
        "validated": validated["digest"],
        "train": context.input_digest("train"),
        "holdout": context.input_digest("holdout"),
    }
    tracked = log_pipeline_run(
        settings=context.settings, spec=spec, spec_text=context.params["spec_text"],
        spec_filename=context.params["spec_filename"], pipeline_run_id=context.run_id, model=model,
        train=train, holdout=holdout, target=context.params["target"],
        data_digests={k: v for k, v in digests.items() if v}, params=params,
        metrics={k: v for k, v in metrics["overall"].items() if v is not None},
        slice_metrics=metrics["slices"], validation_report=report, sweep=sweep,
        extra_modules=context.extra_modules, tags=dict(spec.registry.tags), source_dir=context.base_dir,
    )
    approval = spec.promotion.approval if spec.promotion else "auto"
    started_by = get_run(context.run_id, settings=context.settings).started_by
    register_candidate(tracked.model_name, tracked.model_version, actor=current_actor(),
                       settings=context.settings, approval=approval, team=spec.team, produced_by=started_by,
                       details={"pipeline_run_id": context.run_id, "mlflow_run_id": tracked.mlflow_run_id,
                                "data_digests": digests, "feature_spec": _feature_spec(context, spec, model, train)})
    profile_digest = _save_reference_profile(context, spec, tracked, model, train, holdout)
    facts = CardFacts(
        model=tracked.model_name, version=str(tracked.model_version), pipeline=spec.name,
        description=spec.description, team=spec.team, pipeline_run_id=context.run_id,
        mlflow_run_id=tracked.mlflow_run_id, flavor=spec.model.flavor, estimator=spec.model.estimator,
        task=spec.task(), data_source=_describe_source(spec), data_digests={k: v for k, v in digests.items() if v},
        rows={"train": int(len(train)), "holdout": int(len(holdout))}, validation=report,
        features=[g.model_dump(mode="json") for g in spec.features], params=params,
        metrics=metrics["overall"], slice_metrics=metrics["slices"], environment=capture_environment(),
        reference_profile=profile_digest,
    )
    if spec.promotion is None:
        write_card(facts, settings=context.settings)
    registration = {**asdict(tracked), "data_digests": digests, "card_facts": asdict(facts)}
    return StepResult(outputs={"registration": registration},
                      details={"model": f"{tracked.model_name} v{tracked.model_version}",
                               "mlflow_run_id": tracked.mlflow_run_id})


def _save_reference_profile(context: StepContext, spec, tracked, model, train, holdout) -> str:
    """Profile the training inputs and the holdout predictions, for drift monitoring."""
    from shipyard.monitoring.profile import build_profile
    from shipyard.monitoring.references import save_profile
    from shipyard.registry.registration import feature_columns

    columns = feature_columns(model, holdout, context.params["target"])
    predictions = model.predict(holdout[columns])
    profile = build_profile(train[columns], predictions, task=spec.task())
    return save_profile(tracked.model_name, tracked.model_version, profile, spec.monitoring,
                        settings=context.settings)


def _feature_spec(context: StepContext, spec, model, train) -> dict[str, Any]:
    from shipyard.registry.feature_spec import build_feature_spec
    from shipyard.registry.registration import feature_columns

    return build_feature_spec(spec, train[feature_columns(model, train, context.params["target"])],
                              context.base_dir)


def _describe_source(spec) -> str:
    source = spec.data.source
    where = getattr(source, "path", None) or getattr(source, "query", "")
    return f"{source.type}: {where}"
