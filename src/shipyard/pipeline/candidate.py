"""What follows a version's registration: the candidate in the lifecycle, its reference profile, its card.

The register step does it at once; for a run logged while the tracking server was out,
``shipyard tracking sync`` does it when it registers the version.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from shipyard.config import Settings
from shipyard.spec.models import PipelineSpec


def store_profile(profile: dict[str, Any], *, settings: Settings) -> str:
    """Keep a reference profile in the artifact store until its version exists; its digest."""
    from shipyard.pipeline.artifacts import open_artifact_store

    return open_artifact_store(settings).put(json.dumps(profile, sort_keys=True).encode())


def stored_profile(digest: str, *, settings: Settings) -> dict[str, Any]:
    from shipyard.pipeline.artifacts import open_artifact_store

    return json.loads(open_artifact_store(settings).get(digest))


def record_candidate(*, spec: PipelineSpec, model_name: str, version: str, mlflow_run_id: str,
                     pipeline_run_id: str, started_by: str | None, digests: dict[str, str],
                     profile: dict[str, Any], card_facts: dict[str, Any], actor: str,
                     settings: Settings, feature_spec: dict[str, Any] | None = None) -> dict[str, Any]:
    """Record the registered version as a candidate, save its reference profile and write its card
    (unless gates will write it); the card facts, with the version filled in. Idempotent."""
    from shipyard.monitoring.references import save_profile
    from shipyard.registry.cards import CardFacts, write_card
    from shipyard.registry.lifecycle import register_candidate

    approval = spec.promotion.approval if spec.promotion else "auto"
    register_candidate(model_name, version, actor=actor, settings=settings, approval=approval, team=spec.team,
                       produced_by=started_by,
                       details={"pipeline_run_id": pipeline_run_id, "mlflow_run_id": mlflow_run_id,
                                "data_digests": digests,
                                **({"feature_spec": feature_spec} if feature_spec is not None else {})})
    profile_digest = save_profile(model_name, version, profile, spec.monitoring, settings=settings)
    facts = CardFacts(**{**card_facts, "model": model_name, "version": str(version), "mlflow_run_id": mlflow_run_id,
                         "reference_profile": profile_digest})
    if spec.promotion is None:
        write_card(facts, settings=settings)
    return asdict(facts)
