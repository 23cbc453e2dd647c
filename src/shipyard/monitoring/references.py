"""Storing and finding a version's reference profile (content-addressed) and monitoring settings."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from shipyard.config import Settings, load_settings
from shipyard.errors import NotFoundError
from shipyard.spec.monitoring import MonitoringSpec
from shipyard.store.db import session_scope
from shipyard.store.models import ReferenceProfile


def save_profile(model: str, version: str | int, profile: dict[str, Any], monitoring: MonitoringSpec, *,
                 settings: Settings | None = None) -> str:
    """Store the profile as an artifact; record it for the version (idempotent). Returns its digest."""
    from shipyard.pipeline.artifacts import open_artifact_store

    settings = settings or load_settings()
    digest = open_artifact_store(settings).put(json.dumps(profile, sort_keys=True).encode())
    with session_scope(settings) as session:
        row = session.get(ReferenceProfile, (model, str(version)))
        if row is None:
            session.add(ReferenceProfile(model=model, version=str(version), digest=digest,
                                         monitoring=monitoring.model_dump(mode="json"),
                                         created_at=datetime.now(timezone.utc)))
    return digest


def load_profile(model: str, version: str | int, *,
                 settings: Settings | None = None) -> tuple[dict[str, Any], MonitoringSpec, str]:
    """The version's profile, its monitoring settings and the profile's digest."""
    from shipyard.pipeline.artifacts import open_artifact_store

    settings = settings or load_settings()
    with session_scope(settings) as session:
        row = session.get(ReferenceProfile, (model, str(version)))
        if row is None:
            raise NotFoundError(f"{model} version {version} has no reference profile, so its drift cannot be computed",
                                hint="versions registered by a shipyard pipeline run get one; re-run the pipeline "
                                     "to register a version that has it")
        digest, monitoring = row.digest, row.monitoring
    profile = json.loads(open_artifact_store(settings).get(digest))
    return profile, MonitoringSpec.model_validate(monitoring), digest
