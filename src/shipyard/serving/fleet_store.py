"""The rows through which a fleet of gateways watches stable versions together.

Every gateway publishes its own window per model (:func:`publish`); one gateway at a time
holds a model's watch (:func:`claim_watch`, a lease) and reads the fleet's fresh windows
(:func:`fresh_windows`) to judge them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from shipyard.config import Settings
from shipyard.serving.fleet_window import FleetWindow
from shipyard.store.db import session_scope
from shipyard.store.leases import Holder, claim, holder_of
from shipyard.store.models import GatewayWindow, StableWatch, utcnow


def publish(model: str, gateway: str, version: str, window_s: float, window: FleetWindow, *,
            settings: Settings) -> None:
    now = utcnow()
    with session_scope(settings) as session:
        row = session.get(GatewayWindow, (model, gateway))
        if row is None:
            session.add(GatewayWindow(model=model, gateway=gateway, version=version, window_s=window_s,
                                      stats=window.to_json(), published_at=now))
        else:
            row.version, row.window_s, row.stats, row.published_at = version, window_s, window.to_json(), now


def fresh_windows(model: str, version: str, *, fresh_s: float, settings: Settings) -> dict[str, FleetWindow]:
    """Gateway -> its window of ``version``, for the gateways that published within the last ``fresh_s``."""
    since = utcnow() - timedelta(seconds=fresh_s)
    with session_scope(settings) as session:
        rows = session.scalars(select(GatewayWindow).where(GatewayWindow.model == model,
                                                           GatewayWindow.version == version,
                                                           GatewayWindow.published_at >= since))
        return {row.gateway: FleetWindow.from_json(row.stats) for row in rows}


@dataclass(frozen=True)
class PublishedWindow:
    gateway: str
    version: str
    window_s: float
    published_at: datetime
    window: FleetWindow


def fresh_published(model: str, *, fresh_s: float, settings: Settings) -> list[PublishedWindow]:
    """Every window of ``model`` published within the last ``fresh_s``, whatever its version, by gateway."""
    since = utcnow() - timedelta(seconds=fresh_s)
    with session_scope(settings) as session:
        rows = session.scalars(select(GatewayWindow).where(GatewayWindow.model == model,
                                                           GatewayWindow.published_at >= since)
                               .order_by(GatewayWindow.gateway))
        return [PublishedWindow(gateway=row.gateway, version=row.version, window_s=row.window_s,
                                published_at=row.published_at, window=FleetWindow.from_json(row.stats))
                for row in rows]


def forget_gateway(gateway: str, *, settings: Settings) -> None:
    """A stopping gateway's windows go (a killed one's simply grow stale)."""
    with session_scope(settings) as session:
        session.execute(delete(GatewayWindow).where(GatewayWindow.gateway == gateway))


@dataclass(frozen=True)
class WatchMemory:
    version: str | None
    baseline: dict[str, Any] | None
    paged_at: datetime | None


def claim_watch(model: str, owner: str, *, lease_s: float, settings: Settings) -> WatchMemory | None:
    """Take or renew ``model``'s watch for ``owner``; what the watch remembers, or None while another holds it."""
    try:
        with session_scope(settings) as session:
            if session.get(StableWatch, model) is None:
                session.add(StableWatch(model=model))
                session.flush()
    except IntegrityError:
        pass  # another gateway created the row at the same moment; the claim below decides
    with session_scope(settings) as session:
        if not claim(session, StableWatch, model, owner, lease_s=lease_s):
            return None
        row = session.get(StableWatch, model)
        session.refresh(row)
        return WatchMemory(version=row.version, baseline=row.baseline, paged_at=row.paged_at)


def remember(model: str, owner: str, *, settings: Settings, **fields: Any) -> bool:
    """Write ``fields`` (version, baseline, paged_at) while ``owner`` still holds the watch."""
    with session_scope(settings) as session:
        return session.execute(update(StableWatch).where(StableWatch.model == model, StableWatch.owner == owner)
                               .values(**fields).execution_options(synchronize_session=False)).rowcount > 0


def release_watch(model: str, owner: str, *, settings: Settings) -> None:
    with session_scope(settings) as session:
        session.execute(update(StableWatch).where(StableWatch.model == model, StableWatch.owner == owner)
                        .values(owner=None, lease_expires_at=None).execution_options(synchronize_session=False))


def watch_holder(model: str, *, settings: Settings) -> Holder | None:
    with session_scope(settings) as session:
        row = session.get(StableWatch, model)
        return holder_of(row) if row is not None else None
