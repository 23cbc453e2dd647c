"""Tables of the metadata store."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

RUN_STATUSES = ("pending", "queued", "running", "succeeded", "failed", "cancelled")
ADMISSION_STATES = ("queued", "admitted")
STEP_STATES = ("pending", "running", "succeeded", "cached", "failed", "skipped", "cancelled")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime, stored in UTC and read back in UTC on every backend.

    SQLite keeps no offset, so values are converted to UTC before they are
    written and marked UTC when read. Naive datetimes are refused: their zone
    is a guess.
    """

    impl = DateTime
    cache_ok = True

    def __init__(self) -> None:
        super().__init__(timezone=True)

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} given to the metadata store; "
                             "pass an aware one, e.g. datetime.now(timezone.utc)")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def _json(*, nullable: bool) -> Any:
    return JSON(none_as_null=True) if nullable else JSON()


class Base(DeclarativeBase):
    pass


class PipelineRun(Base):
    __tablename__ = "pipeline_runs"
    __table_args__ = (Index("ix_pipeline_runs_model", "model_name", "model_version"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    pipeline: Mapped[str] = mapped_column(String(200), index=True)
    spec_path: Mapped[str | None] = mapped_column(Text)
    spec_text: Mapped[str] = mapped_column(Text)
    spec_digest: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    options: Mapped[dict[str, Any]] = mapped_column(_json(nullable=False), default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(_json(nullable=True))
    mlflow_run_id: Mapped[str | None] = mapped_column(String(64))
    model_name: Mapped[str | None] = mapped_column(String(200))
    model_version: Mapped[str | None] = mapped_column(String(32))
    owner: Mapped[str | None] = mapped_column(String(200))
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_by: Mapped[str | None] = mapped_column(String(200))

    steps: Mapped[list[StepRun]] = relationship(back_populates="run", order_by="StepRun.position",
                                                cascade="all, delete-orphan", passive_deletes=True)


class StepRun(Base):
    __tablename__ = "step_runs"
    __table_args__ = (UniqueConstraint("run_id", "name", name="uq_step_runs_run_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("pipeline_runs.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(50))
    position: Mapped[int] = mapped_column(Integer)
    cache_key: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    cache_hit: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    duration_s: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    outputs: Mapped[dict[str, Any]] = mapped_column(_json(nullable=False), default=dict)
    details: Mapped[dict[str, Any] | None] = mapped_column(_json(nullable=True))

    run: Mapped[PipelineRun] = relationship(back_populates="steps")


class Artifact(Base):
    __tablename__ = "artifacts"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    format: Mapped[str] = mapped_column(String(16))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    meta: Mapped[dict[str, Any]] = mapped_column(_json(nullable=False), default=dict)


class CacheEntry(Base):
    __tablename__ = "cache_entries"

    cache_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    step_kind: Mapped[str] = mapped_column(String(50))
    outputs: Mapped[dict[str, Any]] = mapped_column(_json(nullable=False))
    run_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    details: Mapped[dict[str, Any] | None] = mapped_column(_json(nullable=True))


class AuditEvent(Base):
    """One append-only, hash-chained audit event."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    time: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(50))
    model: Mapped[str | None] = mapped_column(String(200), index=True)
    version: Mapped[str | None] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    authenticated: Mapped[bool | None] = mapped_column(Boolean)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class ModelHead(Base):
    """Per registered model: the production version and a counter that serialises changes to it."""

    __tablename__ = "model_heads"

    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    production_version: Mapped[str | None] = mapped_column(String(32))
    row_version: Mapped[int] = mapped_column(Integer, default=0)


class ModelVersionState(Base):
    """The shipyard lifecycle state of one registered model version."""

    __tablename__ = "model_version_states"

    model: Mapped[str] = mapped_column(ForeignKey("model_heads.model"), primary_key=True)
    version: Mapped[str] = mapped_column(String(32), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    approval: Mapped[str] = mapped_column(String(16))
    approved_by: Mapped[str | None] = mapped_column(String(200))
    was_production: Mapped[bool] = mapped_column(Boolean, default=False)
    synced: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str | None] = mapped_column(Text)
    produced_by: Mapped[str | None] = mapped_column(String(200))
    """The identity that started the pipeline run which registered this version."""


class ModelCard(Base):
    """Digests of a version's immutable model card, written once at registration."""

    __tablename__ = "model_cards"

    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    version: Mapped[str] = mapped_column(String(32), primary_key=True)
    mlflow_run_id: Mapped[str] = mapped_column(String(64))
    markdown_sha256: Mapped[str] = mapped_column(String(64))
    html_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class VersionReference(Base):
    """Something that depends on a model version (a deployment, say) and keeps it from being retired."""

    __tablename__ = "version_references"

    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    version: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Deployment(Base):
    """How one model's live traffic is split between its versions, and the rollout moving it.

    ``arms`` is a list of ``{"role", "version", "weight"}``: one ``stable`` arm, and at most one
    ``canary`` (random split), ``ab`` (sticky split by ``routing_key``) and ``shadow`` (mirrored).
    ``revision`` grows with every change; gateways poll it, and writers compare-and-swap on it.
    """

    __tablename__ = "deployments"

    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    arms: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    routing_key: Mapped[str | None] = mapped_column(String(200))
    rollout: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(200))


class VersionLoadFailure(Base):
    """A version one gateway could not load or warm up, as of its latest attempt.

    The gateway deletes the row when the version loads, and its rows when it stops; a row that a
    gateway has stopped refreshing (it retries about every minute) is stale.
    """

    __tablename__ = "version_load_failures"

    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    version: Mapped[str] = mapped_column(String(32), primary_key=True)
    gateway: Mapped[str] = mapped_column(String(200), primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    first_failed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_failed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=1)


class GatewayWindow(Base):
    """What one gateway measured for a model's stable version over the last ``window_s``, as of ``published_at``.

    Each gateway rewrites its own row every watch interval; the gateway holding the model's
    stable watch adds up the fresh rows. A row its gateway stopped refreshing is stale and ignored.
    """

    __tablename__ = "gateway_windows"

    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    gateway: Mapped[str] = mapped_column(String(200), primary_key=True)
    version: Mapped[str] = mapped_column(String(32))
    window_s: Mapped[float] = mapped_column(Float)
    stats: Mapped[dict[str, Any]] = mapped_column(JSON)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime())


class StableWatch(Base):
    """Which gateway judges a model's stable version for the fleet (a lease), and what the watch remembers.

    ``baseline`` is the fleet's label counts over the first day of ``version``'s traffic (see
    ``serving.stable_baseline``), which later windows are compared with for prediction shift; ``paged_at`` is set while a breach that
    could not be rolled back has been paged, so it is paged once, not at every tick.
    """

    __tablename__ = "stable_watches"

    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(200))
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    version: Mapped[str | None] = mapped_column(String(32))
    baseline: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    paged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ReferenceProfile(Base):
    """The profile of a version's training data and predictions (an artifact) and its monitoring settings."""

    __tablename__ = "reference_profiles"

    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    version: Mapped[str] = mapped_column(String(32), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))
    monitoring: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DriftReport(Base):
    """One drift computation: the window it read, its severity and the full report."""

    __tablename__ = "drift_reports"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    model: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[str] = mapped_column(String(32))
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())
    window_end: Mapped[datetime] = mapped_column(UTCDateTime())
    rows: Mapped[int] = mapped_column(Integer)
    severity: Mapped[str] = mapped_column(String(16))
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class DriftAlert(Base):
    """One notification of a severity change to one webhook: what was sent and whether it arrived."""

    __tablename__ = "drift_alerts"
    __table_args__ = (UniqueConstraint("report_id", "target", name="uq_drift_alerts_report_target"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    model: Mapped[str] = mapped_column(String(200), index=True)
    report_id: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(16))
    previous_severity: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class IdentityRow(Base):
    """A user or service account (``svc:`` prefix) known to the platform."""

    __tablename__ = "identities"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    platform_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(200))


class Team(Base):
    """A team owns models; ``separation_of_duties`` keeps a run's starter from approving what it produced."""

    __tablename__ = "teams"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    separation_of_duties: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TeamMember(Base):
    """One identity's role in one team."""

    __tablename__ = "team_members"

    team: Mapped[str] = mapped_column(ForeignKey("teams.name", ondelete="CASCADE"), primary_key=True)
    identity: Mapped[str] = mapped_column(ForeignKey("identities.name", ondelete="CASCADE"), primary_key=True,
                                          index=True)
    role: Mapped[str] = mapped_column(String(16))


class ApiToken(Base):
    """An API token, kept only as the SHA-256 of its secret."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    identity: Mapped[str] = mapped_column(ForeignKey("identities.name", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    scopes: Mapped[str] = mapped_column(String(1000), default="", server_default="")
    """Space-separated gateway scopes (``inference``, ``inference:MODEL``, ``metrics``); empty: the API only."""


class ModelOwner(Base):
    """The team that owns a registered model, recorded when its pipeline first runs or registers it."""

    __tablename__ = "model_owners"

    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    team: Mapped[str] = mapped_column(String(200), index=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TeamQueue(Base):
    """Per team with a quota: the row its admissions lock, and the next ticket of its FIFO queue."""

    __tablename__ = "team_queues"

    team: Mapped[str] = mapped_column(String(200), primary_key=True)
    next_ticket: Mapped[int] = mapped_column(Integer, default=1)


class RunAdmission(Base):
    """A run waiting for (``queued``) or holding (``admitted``) a share of its team's quota."""

    __tablename__ = "run_admissions"
    __table_args__ = (Index("ix_run_admissions_team_ticket", "team", "ticket"),)

    run_id: Mapped[str] = mapped_column(ForeignKey("pipeline_runs.id", ondelete="CASCADE"), primary_key=True)
    team: Mapped[str] = mapped_column(String(200))
    ticket: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    cpu: Mapped[float] = mapped_column(Float)
    memory: Mapped[int] = mapped_column(BigInteger)
    gpus: Mapped[int] = mapped_column(Integer)
    sweep_trials: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    enqueued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    admitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
