"""Who owns a running pipeline run: an owner id and a lease the owner renews while it is alive.

One process at a time owns a run. It takes the run by a compare-and-swap on the
run's row (so two processes racing for it cannot both win, on SQLite and
PostgreSQL alike), renews the lease while it works and gives it up when the run
ends. A run whose lease has expired, or whose owner is a process on this host
that no longer exists, has lost its owner: it is shown as ``interrupted`` and
may be resumed.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update

from shipyard.config import Settings
from shipyard.errors import NotFoundError, RefusedError
from shipyard.store.db import connection_scope
from shipyard.store.tables import pipeline_runs, utcnow


def new_owner() -> str:
    """``host:pid:token``; the token tells apart two owners in one process."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True, kw_only=True)
class Holder:
    owner: str | None
    heartbeat_at: datetime | None
    expires_at: datetime | None

    @property
    def host(self) -> str:
        return (self.owner or "").rsplit(":", 2)[0]

    @property
    def pid(self) -> int | None:
        parts = (self.owner or "").rsplit(":", 2)
        return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None

    def gone_from_this_host(self) -> bool:
        """The owner ran on this host and its process no longer exists."""
        return self.host == socket.gethostname() and self.pid is not None and not process_exists(self.pid)

    def alive(self, now: datetime | None = None) -> bool:
        if self.owner is None or self.expires_at is None or self.gone_from_this_host():
            return False
        return self.expires_at > (now or utcnow())

    def describe(self, now: datetime | None = None) -> str:
        now = now or utcnow()
        beat = f", last heartbeat {(now - self.heartbeat_at).total_seconds():.0f}s ago" if self.heartbeat_at else ""
        return f"process {self.pid} on {self.host}{beat}"


def holder_of(row: Any) -> Holder:
    return Holder(owner=row.owner, heartbeat_at=row.heartbeat_at, expires_at=row.lease_expires_at)


def process_exists(pid: int) -> bool:
    """Whether ``pid`` is a live process here; a zombie (killed, not yet reaped) counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return True


def acquire(run_id: str, owner: str, *, lease_s: float, settings: Settings | None = None) -> None:
    """Take the run for ``owner``; refused while another owner is alive."""
    runs = pipeline_runs.c
    with connection_scope(settings) as c:
        row = c.execute(select(runs.owner, runs.heartbeat_at, runs.lease_expires_at).where(runs.id == run_id)).first()
        if row is None:
            raise NotFoundError(f"there is no run '{run_id}' in the metadata store")
        holder = holder_of(row)
        now = utcnow()
        if holder.owner != owner and holder.alive(now):
            raise still_running(run_id, holder, now)
        same_holder = runs.owner.is_(None) if holder.owner is None else runs.owner == holder.owner
        lapsed = or_(runs.lease_expires_at.is_(None), runs.lease_expires_at <= now)
        condition = same_holder if holder.owner == owner or holder.gone_from_this_host() \
            else and_(same_holder, lapsed)
        taken = c.execute(update(pipeline_runs).where(runs.id == run_id, condition)
                          .values(owner=owner, heartbeat_at=now, lease_expires_at=now + timedelta(seconds=lease_s))
                          ).rowcount
        if not taken:
            raise RefusedError(f"run {run_id} was taken over by another process just now",
                               headline="run is owned elsewhere",
                               hint=f"`shipyard runs show {run_id}` says who runs it")


def renew(run_id: str, owner: str, *, lease_s: float, settings: Settings | None = None) -> bool:
    """Extend the lease; False when ``owner`` no longer holds the run."""
    now = utcnow()
    with connection_scope(settings) as c:
        return c.execute(update(pipeline_runs).where(pipeline_runs.c.id == run_id, pipeline_runs.c.owner == owner)
                         .values(heartbeat_at=now, lease_expires_at=now + timedelta(seconds=lease_s))).rowcount > 0


def release(run_id: str, owner: str, *, settings: Settings | None = None, **fields: Any) -> bool:
    """Give the run up, writing ``fields`` (its final status) in the same statement; False if not held."""
    with connection_scope(settings) as c:
        return c.execute(update(pipeline_runs).where(pipeline_runs.c.id == run_id, pipeline_runs.c.owner == owner)
                         .values(owner=None, lease_expires_at=None, **fields)).rowcount > 0


def still_running(run_id: str, holder: Holder, now: datetime | None = None) -> RefusedError:
    now = now or utcnow()
    left = max(0.0, (holder.expires_at - now).total_seconds()) if holder.expires_at else 0.0
    return RefusedError(
        f"run {run_id} is still running ({holder.describe(now)}); one run has one owner at a time",
        headline="run is still running",
        hint=f"wait for it to finish, or stop that process; if it died on another machine, its lease expires "
             f"in {left:.0f}s and `shipyard run --resume {run_id}` then takes the run over")


def claim(session, table: Any, key: Any, owner: str, *, lease_s: float) -> bool:
    """Take or renew the lease on ``table``'s row ``key`` (a row with ``owner``, ``heartbeat_at`` and
    ``lease_expires_at``) for ``owner``; False while another owner is alive or took it first.

    The same compare-and-swap as :func:`acquire`: the row changes hands only from the holder that was read,
    so two processes racing for a lapsed lease cannot both win.
    """
    row = session.get(table, key)
    if row is None:
        return False
    holder = holder_of(row)
    now = utcnow()
    if holder.owner != owner and holder.alive(now):
        return False
    same_holder = table.owner.is_(None) if holder.owner is None else table.owner == holder.owner
    primary = table.__mapper__.primary_key[0]
    return session.execute(update(table).where(primary == key, same_holder)
                           .values(owner=owner, heartbeat_at=now, lease_expires_at=now + timedelta(seconds=lease_s))
                           .execution_options(synchronize_session=False)).rowcount > 0
