"""ORM classes of the metadata store, mapped onto the tables of :mod:`shipyard.store.tables`."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase, relationship

from shipyard.store import tables
from shipyard.store.tables import (  # noqa: F401  (the store's names, where ORM code looks for them)
    ADMISSION_STATES, RUN_STATUSES, STEP_STATES, UTCDateTime, utcnow)


class Base(DeclarativeBase):
    metadata = tables.metadata


class PipelineRun(Base):
    __table__ = tables.pipeline_runs
    steps = relationship("StepRun", back_populates="run", order_by="StepRun.position", cascade="all, delete-orphan",
                         passive_deletes=True)


class StepRun(Base):
    __table__ = tables.step_runs
    run = relationship(PipelineRun, back_populates="steps")


class Artifact(Base):
    __table__ = tables.artifacts


class CacheEntry(Base):
    __table__ = tables.cache_entries


class AuditEvent(Base):
    __table__ = tables.audit_events


class ModelHead(Base):
    __table__ = tables.model_heads


class ModelVersionState(Base):
    __table__ = tables.model_version_states


class ModelCard(Base):
    __table__ = tables.model_cards


class VersionReference(Base):
    __table__ = tables.version_references


class Deployment(Base):
    __table__ = tables.deployments


class VersionLoadFailure(Base):
    __table__ = tables.version_load_failures


class GatewayWindow(Base):
    __table__ = tables.gateway_windows


class StableWatch(Base):
    __table__ = tables.stable_watches


class ReferenceProfile(Base):
    __table__ = tables.reference_profiles


class DriftReport(Base):
    __table__ = tables.drift_reports


class DriftAlert(Base):
    __table__ = tables.drift_alerts


class IdentityRow(Base):
    __table__ = tables.identities


class Team(Base):
    __table__ = tables.teams


class TeamMember(Base):
    __table__ = tables.team_members


class ApiToken(Base):
    __table__ = tables.api_tokens


class ModelOwner(Base):
    __table__ = tables.model_owners


class TeamQueue(Base):
    __table__ = tables.team_queues


class RunAdmission(Base):
    __table__ = tables.run_admissions
