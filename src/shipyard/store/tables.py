"""The metadata store's tables, in SQLAlchemy Core.

The ORM classes of :mod:`shipyard.store.models` are mapped onto these same tables; code that only reads
and writes rows (the runner's run, step and cache records) uses them through Core and never loads the ORM.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)

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


metadata = MetaData()


pipeline_runs = Table(
    "pipeline_runs", metadata,
    Column("id", String(32), primary_key=True),
    Column("pipeline", String(200), index=True, nullable=False),
    Column("spec_path", Text),
    Column("spec_text", Text, nullable=False),
    Column("spec_digest", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UTCDateTime(), default=utcnow, index=True, nullable=False),
    Column("started_at", UTCDateTime()),
    Column("finished_at", UTCDateTime()),
    Column("options", _json(nullable=False), default=dict, nullable=False),
    Column("error", Text),
    Column("result", _json(nullable=True)),
    Column("mlflow_run_id", String(64)),
    Column("model_name", String(200)),
    Column("model_version", String(32)),
    Column("owner", String(200)),
    Column("heartbeat_at", UTCDateTime()),
    Column("lease_expires_at", UTCDateTime()),
    Column("started_by", String(200)),
    Index("ix_pipeline_runs_model", "model_name", "model_version"),
)


step_runs = Table(
    "step_runs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", ForeignKey("pipeline_runs.id", ondelete="CASCADE"), index=True, nullable=False),
    Column("name", String(200), nullable=False),
    Column("kind", String(50), nullable=False),
    Column("position", Integer, nullable=False),
    Column("cache_key", String(64)),
    Column("state", String(16), nullable=False),
    Column("cache_hit", Boolean, default=False, nullable=False),
    Column("attempts", Integer, default=0, nullable=False),
    Column("started_at", UTCDateTime()),
    Column("finished_at", UTCDateTime()),
    Column("duration_s", Float),
    Column("error", Text),
    Column("outputs", _json(nullable=False), default=dict, nullable=False),
    Column("details", _json(nullable=True)),
    UniqueConstraint("run_id", "name", name="uq_step_runs_run_name"),
)


artifacts = Table(
    "artifacts", metadata,
    Column("digest", String(64), primary_key=True),
    Column("format", String(16), nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("created_at", UTCDateTime(), default=utcnow, nullable=False),
    Column("meta", _json(nullable=False), default=dict, nullable=False),
)


cache_entries = Table(
    "cache_entries", metadata,
    Column("cache_key", String(64), primary_key=True),
    Column("step_kind", String(50), nullable=False),
    Column("outputs", _json(nullable=False), nullable=False),
    Column("run_id", String(32), nullable=False),
    Column("created_at", UTCDateTime(), default=utcnow, nullable=False),
    Column("details", _json(nullable=True)),
)


# One append-only, hash-chained audit event.
audit_events = Table(
    "audit_events", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("time", UTCDateTime(), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(50), nullable=False),
    Column("model", String(200), index=True),
    Column("version", String(32)),
    Column("from_state", String(16)),
    Column("to_state", String(16)),
    Column("reason", Text),
    Column("details", JSON),
    Column("authenticated", Boolean),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)


# Per registered model: the production version and a counter that serialises changes to it.
model_heads = Table(
    "model_heads", metadata,
    Column("model", String(200), primary_key=True),
    Column("production_version", String(32)),
    Column("row_version", Integer, default=0, nullable=False),
)


# The shipyard lifecycle state of one registered model version.
model_version_states = Table(
    "model_version_states", metadata,
    Column("model", ForeignKey("model_heads.model"), primary_key=True),
    Column("version", String(32), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("approval", String(16), nullable=False),
    Column("approved_by", String(200)),
    Column("was_production", Boolean, default=False, nullable=False),
    Column("synced", Boolean, default=False, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("reason", Text),
    # The identity that started the pipeline run which registered this version.
    Column("produced_by", String(200)),
)


# Digests of a version's immutable model card, written once at registration.
model_cards = Table(
    "model_cards", metadata,
    Column("model", String(200), primary_key=True),
    Column("version", String(32), primary_key=True),
    Column("mlflow_run_id", String(64), nullable=False),
    Column("markdown_sha256", String(64), nullable=False),
    Column("html_sha256", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)


# Something that depends on a model version (a deployment, say) and keeps it from being retired.
version_references = Table(
    "version_references", metadata,
    Column("model", String(200), primary_key=True),
    Column("version", String(32), primary_key=True),
    Column("holder", String(200), primary_key=True),
    Column("created_at", UTCDateTime(), nullable=False),
)


# How one model's live traffic is split between its versions, and the rollout moving it.
# ``arms`` is a list of ``{"role", "version", "weight"}``: one ``stable`` arm, and at most one
# ``canary`` (random split), ``ab`` (sticky split by ``routing_key``) and ``shadow`` (mirrored).
# ``revision`` grows with every change; gateways poll it, and writers compare-and-swap on it.
deployments = Table(
    "deployments", metadata,
    Column("model", String(200), primary_key=True),
    Column("revision", Integer, default=1, nullable=False),
    Column("arms", JSON, nullable=False),
    Column("routing_key", String(200)),
    Column("rollout", JSON),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("updated_by", String(200), nullable=False),
)


# A version one gateway could not load or warm up, as of its latest attempt.
# The gateway deletes the row when the version loads, and its rows when it stops; a row that a
# gateway has stopped refreshing (it retries about every minute) is stale.
version_load_failures = Table(
    "version_load_failures", metadata,
    Column("model", String(200), primary_key=True),
    Column("version", String(32), primary_key=True),
    Column("gateway", String(200), primary_key=True),
    Column("reason", Text, nullable=False),
    Column("first_failed_at", UTCDateTime(), nullable=False),
    Column("last_failed_at", UTCDateTime(), nullable=False),
    Column("attempts", Integer, default=1, nullable=False),
)


# What one gateway measured for a model's stable version over the last ``window_s``, as of ``published_at``.
# Each gateway rewrites its own row every watch interval; the gateway holding the model's
# stable watch adds up the fresh rows. A row its gateway stopped refreshing is stale and ignored.
gateway_windows = Table(
    "gateway_windows", metadata,
    Column("model", String(200), primary_key=True),
    Column("gateway", String(200), primary_key=True),
    Column("version", String(32), nullable=False),
    Column("window_s", Float, nullable=False),
    Column("stats", JSON, nullable=False),
    Column("published_at", UTCDateTime(), nullable=False),
)


# Which gateway judges a model's stable version for the fleet (a lease), and what the watch remembers.
# ``baseline`` is the fleet's label counts over the first day of ``version``'s traffic (see
# ``serving.stable_baseline``), which later windows are compared with for prediction shift; ``paged_at`` is
# set while a breach that could not be rolled back has been paged, so it is paged once, not at every tick.
stable_watches = Table(
    "stable_watches", metadata,
    Column("model", String(200), primary_key=True),
    Column("owner", String(200)),
    Column("heartbeat_at", UTCDateTime()),
    Column("lease_expires_at", UTCDateTime()),
    Column("version", String(32)),
    Column("baseline", JSON),
    Column("paged_at", UTCDateTime()),
)


# The profile of a version's training data and predictions (an artifact) and its monitoring settings.
reference_profiles = Table(
    "reference_profiles", metadata,
    Column("model", String(200), primary_key=True),
    Column("version", String(32), primary_key=True),
    Column("digest", String(64), nullable=False),
    Column("monitoring", JSON, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)


# One drift computation: the window it read, its severity and the full report.
drift_reports = Table(
    "drift_reports", metadata,
    Column("id", String(32), primary_key=True),
    Column("model", String(200), index=True, nullable=False),
    Column("version", String(32), nullable=False),
    Column("window_start", UTCDateTime(), nullable=False),
    Column("window_end", UTCDateTime(), nullable=False),
    Column("rows", Integer, nullable=False),
    Column("severity", String(16), nullable=False),
    Column("report", JSON, nullable=False),
    Column("created_at", UTCDateTime(), index=True, nullable=False),
)


# One notification of a severity change to one webhook: what was sent and whether it arrived.
drift_alerts = Table(
    "drift_alerts", metadata,
    Column("id", String(32), primary_key=True),
    Column("model", String(200), index=True, nullable=False),
    Column("report_id", String(32), nullable=False),
    Column("target", Text, nullable=False),
    Column("severity", String(16), nullable=False),
    Column("previous_severity", String(16)),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text),
    Column("payload", JSON, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("report_id", "target", name="uq_drift_alerts_report_target"),
)


# A user or service account (``svc:`` prefix) known to the platform.
identities = Table(
    "identities", metadata,
    Column("name", String(200), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("platform_admin", Boolean, default=False, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("created_by", String(200), nullable=False),
)


# A team owns models; ``separation_of_duties`` keeps a run's starter from approving what it produced.
teams = Table(
    "teams", metadata,
    Column("name", String(200), primary_key=True),
    Column("separation_of_duties", Boolean, default=True, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)


# One identity's role in one team.
team_members = Table(
    "team_members", metadata,
    Column("team", ForeignKey("teams.name", ondelete="CASCADE"), primary_key=True),
    Column("identity", ForeignKey("identities.name", ondelete="CASCADE"), primary_key=True, index=True),
    Column("role", String(16), nullable=False),
)


# An API token, kept only as the SHA-256 of its secret.
api_tokens = Table(
    "api_tokens", metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("identity", ForeignKey("identities.name", ondelete="CASCADE"), index=True, nullable=False),
    Column("token_hash", String(64), unique=True, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime()),
    Column("revoked_at", UTCDateTime()),
    Column("last_used_at", UTCDateTime()),
    # Space-separated gateway scopes (``inference``, ``inference:MODEL``, ``metrics``); empty: the API only.
    Column("scopes", String(1000), default="", server_default="", nullable=False),
)


# The team that owns a registered model, recorded when its pipeline first runs or registers it.
model_owners = Table(
    "model_owners", metadata,
    Column("model", String(200), primary_key=True),
    Column("team", String(200), index=True, nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
)


# Per team with a quota: the row its admissions lock, and the next ticket of its FIFO queue.
team_queues = Table(
    "team_queues", metadata,
    Column("team", String(200), primary_key=True),
    Column("next_ticket", Integer, default=1, nullable=False),
)


# A run waiting for (``queued``) or holding (``admitted``) a share of its team's quota.
run_admissions = Table(
    "run_admissions", metadata,
    Column("run_id", ForeignKey("pipeline_runs.id", ondelete="CASCADE"), primary_key=True),
    Column("team", String(200), nullable=False),
    Column("ticket", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("cpu", Float, nullable=False),
    Column("memory", BigInteger, nullable=False),
    Column("gpus", Integer, nullable=False),
    Column("sweep_trials", Integer, nullable=False),
    Column("reason", Text),
    Column("enqueued_at", UTCDateTime(), nullable=False),
    Column("admitted_at", UTCDateTime()),
    Index("ix_run_admissions_team_ticket", "team", "ticket"),
)
