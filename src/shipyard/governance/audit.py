"""The append-only audit log. Each event carries the SHA-256 of its predecessor, so an
edited, deleted or reordered event breaks the chain at a point ``verify_chain`` names."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import event as orm_event
from sqlalchemy import func, or_, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError

from shipyard.config import Settings
from shipyard.errors import BackendError
from shipyard.governance.checkpoints import maybe_checkpoint
from shipyard.governance.identity import current_identity
from shipyard.store.db import session_scope
from shipyard.store.models import AuditEvent, ModelOwner

GENESIS = "0" * 64
PRUNED = "audit_pruned"
"""The action of the event that records which oldest events were deleted after export (``through_seq``)."""
_APPEND_ATTEMPTS = 20
_HEAD_LOCK_KEY = 0x5348_4155
"""PostgreSQL advisory lock held by the transaction that appends, so that appends take turns on the head."""


@dataclass(frozen=True, kw_only=True)
class Event:
    seq: int
    time: datetime
    actor: str
    action: str
    model: str | None
    version: str | None
    from_state: str | None
    to_state: str | None
    reason: str | None
    details: dict[str, Any] = field(default_factory=dict)
    authenticated: bool | None = None
    """Whether the actor was an authenticated identity; None on events written before identities existed."""
    prev_hash: str = GENESIS
    hash: str = ""


@dataclass(frozen=True, kw_only=True)
class ChainReport:
    ok: bool
    events: int
    first_bad_seq: int | None = None
    problem: str | None = None


def _content(event: Event | AuditEvent) -> dict[str, Any]:
    content = {"seq": event.seq, "time": _iso(event.time), "actor": event.actor, "action": event.action,
               "model": event.model, "version": event.version, "from_state": event.from_state,
               "to_state": event.to_state, "reason": event.reason, "details": event.details or {},
               "prev_hash": event.prev_hash}
    if event.authenticated is not None:
        content["authenticated"] = event.authenticated
    return content


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def event_hash(event: Event | AuditEvent) -> str:
    body = json.dumps(_content(event), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def append_event(*, actor: str, action: str, model: str | None = None, version: str | int | None = None,
                 from_state: str | None = None, to_state: str | None = None, reason: str | None = None,
                 details: dict[str, Any] | None = None, session=None, settings: Settings | None = None) -> Event:
    """Append one event. Inside ``session`` it commits or rolls back with the caller's change.

    When the current identity is authenticated it is the actor, whatever name the caller gave;
    otherwise ``actor`` is recorded as given and the event is marked unauthenticated.
    """
    identity = current_identity()
    if identity.authenticated:
        actor = identity.name
    authenticated = identity.authenticated
    if session is not None:
        appended = _append(session, actor, action, model, version, from_state, to_state, reason, details,
                           authenticated)
        _checkpoint_after_commit(session, appended.seq, settings)
        return appended
    for _ in range(_APPEND_ATTEMPTS):
        try:
            with session_scope(settings) as own:
                appended = _append(own, actor, action, model, version, from_state, to_state, reason, details,
                                   authenticated)
            maybe_checkpoint(appended.seq, settings)
            return appended
        except (IntegrityError, OperationalError):
            continue  # another writer took this sequence number (or held the lock); chain onto its event
    raise BackendError("could not append to the audit log: too many concurrent writers")


def _checkpoint_after_commit(session, seq: int, settings: Settings | None) -> None:
    """Once the caller's transaction commits (never before: a rolled-back event must not be anchored)."""
    pending = session.info.setdefault("audit_checkpoint_seq", [])
    pending.append(seq)
    if len(pending) > 1:
        return

    def committed(committed_session) -> None:
        newest = max(committed_session.info.pop("audit_checkpoint_seq", [seq]))
        maybe_checkpoint(newest, settings)

    def rolled_back(rolled_session, *args) -> None:
        rolled_session.info.pop("audit_checkpoint_seq", None)

    orm_event.listen(session, "after_commit", committed, once=True)
    orm_event.listen(session, "after_soft_rollback", rolled_back, once=True)


def _lock_head(session) -> None:
    """Make this transaction the only one that may append until it ends, before it reads the head.

    A row lock on the newest event is not enough: a writer waiting on it still reads the old newest event
    once the lock is released and takes the same sequence number. PostgreSQL takes a transaction-scoped
    advisory lock; SQLite takes its database write lock with an update that touches no row.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _HEAD_LOCK_KEY})
    else:
        session.execute(update(AuditEvent).where(AuditEvent.seq < 0).values(seq=AuditEvent.seq),
                        execution_options={"synchronize_session": False})


def _append(session, actor, action, model, version, from_state, to_state, reason, details,
            authenticated) -> Event:
    _lock_head(session)
    last = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1).with_for_update()).first()
    event = Event(seq=(last.seq + 1) if last else 1, time=datetime.now(timezone.utc), actor=actor, action=action,
                  model=model, version=None if version is None else str(version), from_state=from_state,
                  to_state=to_state, reason=reason, details=json.loads(json.dumps(details or {}, default=str)),
                  authenticated=authenticated, prev_hash=last.hash if last else GENESIS)
    digest = event_hash(event)
    session.add(AuditEvent(seq=event.seq, time=event.time, actor=actor, action=action, model=event.model,
                           version=event.version, from_state=from_state, to_state=to_state, reason=reason,
                           details=event.details, authenticated=authenticated, prev_hash=event.prev_hash,
                           hash=digest))
    session.flush()
    return Event(**{**event.__dict__, "hash": digest})


def read_events(*, model: str | None = None, since: datetime | None = None, limit: int | None = None,
                settings: Settings | None = None) -> list[Event]:
    with session_scope(settings) as session:
        query = select(AuditEvent).order_by(AuditEvent.seq)
        if model:
            query = query.where(AuditEvent.model == model)
        if since:
            query = query.where(AuditEvent.time >= since)
        if limit:
            query = query.limit(limit)
        return [_event(row) for row in session.scalars(query)]


def page_events(*, model: str | None = None, team: str | None = None, action: str | None = None,
                actor: str | None = None, since: datetime | None = None, descending: bool = False, offset: int = 0,
                limit: int = 50, settings: Settings | None = None) -> tuple[list[Event], int]:
    """One page of audit events in chain order (or newest first), and how many match in all.

    ``team`` keeps the events about the models the team owns and about the team itself (its members, its policy).
    """
    conditions = []
    if model:
        conditions.append(AuditEvent.model == model)
    if team:
        owned = select(ModelOwner.model).where(ModelOwner.team == team)
        conditions.append(or_(AuditEvent.model.in_(owned), AuditEvent.details["team"].as_string() == team))
    if action:
        conditions.append(AuditEvent.action == action)
    if actor:
        conditions.append(AuditEvent.actor == actor)
    if since:
        conditions.append(AuditEvent.time >= since)
    order = AuditEvent.seq.desc() if descending else AuditEvent.seq.asc()
    with session_scope(settings) as session:
        total = session.scalar(select(func.count()).select_from(AuditEvent).where(*conditions))
        rows = session.scalars(select(AuditEvent).where(*conditions).order_by(order).offset(offset).limit(limit))
        return [_event(row) for row in rows], int(total or 0)


def _event(row: AuditEvent) -> Event:
    return Event(seq=row.seq, time=row.time, actor=row.actor, action=row.action, model=row.model,
                 version=row.version, from_state=row.from_state, to_state=row.to_state, reason=row.reason,
                 details=row.details or {}, authenticated=row.authenticated, prev_hash=row.prev_hash, hash=row.hash)


def verify_chain(*, settings: Settings | None = None) -> ChainReport:
    """Walk the whole log; report the first event whose content, order or link is wrong.

    A log whose oldest events were pruned starts later: its first event is trusted as the start only
    when an ``audit_pruned`` event in the log records exactly that prefix (and the signed checkpoints,
    when configured, then prove it; see ``governance.audit_verify``).
    """
    return walk_chain(read_events(settings=settings))


def _span(first: int, last: int) -> str:
    return f"event {first} is" if first == last else f"events {first} to {last} are"


def walk_chain(events: list[Event]) -> ChainReport:
    previous_hash, expected_seq = GENESIS, 1
    if events and events[0].seq > 1:
        start = events[0]
        recorded = {e.details.get("through_seq") for e in events if e.action == PRUNED}
        if start.seq - 1 not in recorded:
            pruned = max((seq for seq in recorded if isinstance(seq, int) and seq < start.seq), default=0)
            reason = f"a recorded prune deleted events through {pruned} only" if pruned else "no prune is recorded"
            return ChainReport(ok=False, events=len(events), first_bad_seq=pruned + 1,
                               problem=f"{_span(pruned + 1, start.seq - 1)} missing and {reason}: "
                                       "events were deleted from the start")
        previous_hash, expected_seq = start.prev_hash, start.seq
    for event in events:
        if event.seq != expected_seq:
            problem = (f"event {expected_seq} is missing (the next one is {event.seq}): an event was deleted"
                       if event.seq > expected_seq else f"event {event.seq} appears out of order")
            return ChainReport(ok=False, events=len(events), first_bad_seq=event.seq, problem=problem)
        if event_hash(event) != event.hash:
            return ChainReport(ok=False, events=len(events), first_bad_seq=event.seq,
                               problem=f"event {event.seq} was edited: its content no longer matches its hash")
        if event.prev_hash != previous_hash:
            return ChainReport(ok=False, events=len(events), first_bad_seq=event.seq,
                               problem=f"event {event.seq} does not link to event {event.seq - 1}: "
                                       "events were removed, replaced or reordered")
        previous_hash, expected_seq = event.hash, expected_seq + 1
    return ChainReport(ok=True, events=len(events))
