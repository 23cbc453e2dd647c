"""Versions that gateways could not load, recorded in the metadata store for operators to see.

Gateways write (one row per model, version and gateway, refreshed at every failed attempt,
deleted when the version loads or the gateway stops); ``shipyard traffic show`` reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, select

from shipyard.config import Settings
from shipyard.store.db import session_scope
from shipyard.store.models import VersionLoadFailure

# gateways retry a failed version every minute (follower.RETRY_FAILED_LOAD_S); a row not refreshed for
# three of those belongs to a gateway that is gone
STALE_AFTER_S = 180.0


@dataclass(frozen=True)
class LoadFailure:
    model: str
    version: str
    gateway: str
    reason: str
    first_failed_at: datetime
    last_failed_at: datetime
    attempts: int

    def to_dict(self) -> dict:
        return {"version": self.version, "gateway": self.gateway, "reason": self.reason,
                "first_failed_at": self.first_failed_at.isoformat(), "last_failed_at": self.last_failed_at.isoformat(),
                "attempts": self.attempts}


def record_load_failure(model: str, version: str, *, gateway: str, reason: str,
                        settings: Settings | None = None) -> None:
    now = datetime.now(timezone.utc)
    with session_scope(settings) as session:
        row = session.get(VersionLoadFailure, (model, version, gateway))
        if row is None:
            session.add(VersionLoadFailure(model=model, version=version, gateway=gateway, reason=reason,
                                           first_failed_at=now, last_failed_at=now, attempts=1))
        else:
            row.reason, row.last_failed_at, row.attempts = reason, now, row.attempts + 1


def clear_load_failures(*, gateway: str, model: str | None = None, version: str | None = None,
                        settings: Settings | None = None) -> None:
    """Forget a gateway's failures (of one model or version, when given)."""
    query = delete(VersionLoadFailure).where(VersionLoadFailure.gateway == gateway)
    if model is not None:
        query = query.where(VersionLoadFailure.model == model)
    if version is not None:
        query = query.where(VersionLoadFailure.version == version)
    with session_scope(settings) as session:
        session.execute(query)


def load_failures(model: str | None = None, *, settings: Settings | None = None) -> list[LoadFailure]:
    """Current load failures (refreshed within :data:`STALE_AFTER_S`), by model, version, gateway."""
    since = datetime.now(timezone.utc) - timedelta(seconds=STALE_AFTER_S)
    query = select(VersionLoadFailure).where(VersionLoadFailure.last_failed_at >= since).order_by(
        VersionLoadFailure.model, VersionLoadFailure.version, VersionLoadFailure.gateway)
    if model is not None:
        query = query.where(VersionLoadFailure.model == model)
    with session_scope(settings) as session:
        return [LoadFailure(model=r.model, version=r.version, gateway=r.gateway, reason=r.reason,
                            first_failed_at=r.first_failed_at, last_failed_at=r.last_failed_at, attempts=r.attempts)
                for r in session.scalars(query)]
