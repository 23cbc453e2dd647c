"""Holders of a model version — deployments, for one — which keep it from being retired."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import delete, select

from shipyard.config import Settings
from shipyard.store.db import session_scope
from shipyard.store.models import VersionReference


def hold(model: str, version: str | int, holder: str, *, session=None, settings: Settings | None = None) -> None:
    def add(s) -> None:
        if s.get(VersionReference, (model, str(version), holder)) is None:
            s.add(VersionReference(model=model, version=str(version), holder=holder,
                                   created_at=datetime.now(timezone.utc)))

    if session is not None:
        add(session)
        return
    with session_scope(settings) as own:
        add(own)


def release(model: str, version: str | int, holder: str, *, settings: Settings | None = None) -> None:
    with session_scope(settings) as session:
        session.execute(delete(VersionReference).where(VersionReference.model == model,
                                                       VersionReference.version == str(version),
                                                       VersionReference.holder == holder))


def holders(model: str, version: str | int, *, session=None, settings: Settings | None = None) -> list[str]:
    query = select(VersionReference.holder).where(VersionReference.model == model,
                                                  VersionReference.version == str(version))
    if session is not None:
        return sorted(session.scalars(query))
    with session_scope(settings) as own:
        return sorted(own.scalars(query))
