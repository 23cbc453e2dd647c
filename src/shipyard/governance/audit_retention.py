"""Pruning the audit log's oldest events once retention allows it, without losing the proof.

Events are deleted only when all of these hold, else nothing is deleted:
- they are older than the retention (``SHIPYARD_AUDIT_RETENTION``, default seven years);
- an export recorded in the log holds them, and its file is still there with its recorded SHA-256;
- the newest one deleted is anchored by a signed checkpoint, so the remaining log still ties to them.
The prune is recorded as an ``audit_pruned`` event and a fresh checkpoint records where the log now starts.
"""

from __future__ import annotations

import calendar
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete

from shipyard.config import Settings, load_settings, retention_years_days
from shipyard.errors import BackendError, RefusedError, TamperedError
from shipyard.governance.audit import PRUNED, Event, append_event, read_events
from shipyard.governance.audit_export import EXPORTED
from shipyard.governance.audit_verify import verify_log
from shipyard.governance.checkpoints import load_checkpoints, write_checkpoint
from shipyard.governance.identity import current_actor, current_identity
from shipyard.governance.policy import authorize
from shipyard.governance.signing import load_signer, load_verifier
from shipyard.store.db import session_scope
from shipyard.store.models import AuditEvent
from shipyard.store.object_folder import ObjectFolder


@dataclass(frozen=True, kw_only=True)
class Pruned:
    through_seq: int
    deleted: int
    export: str


def retention_cutoff(retention: str, now: datetime | None = None) -> datetime:
    """The newest moment an event may date from and still be pruned: ``now`` less the retention,
    in calendar years (29 February falls back to the 28th) or days."""
    years, days = retention_years_days(retention, "SHIPYARD_AUDIT_RETENTION")
    now = now or datetime.now(timezone.utc)
    year = now.year - years
    day = min(now.day, calendar.monthrange(year, now.month)[1])
    return now.replace(year=year, day=day) - timedelta(days=days)


def prune(*, before: datetime | None = None, settings: Settings | None = None,
          now: datetime | None = None) -> Pruned:
    """Delete the oldest events dated before ``before`` (default: the retention cutoff) that are exported
    and anchored; refuses, deleting nothing, when ``before`` is inside the retention or nothing qualifies."""
    settings = settings or load_settings()
    authorize(current_identity(), "audit.manage", team=None)
    cutoff = retention_cutoff(settings.audit_retention, now)
    before = before or cutoff
    if before > cutoff:
        raise RefusedError(f"events dated after {cutoff:%Y-%m-%d %H:%M} UTC are inside the audit retention "
                           f"({settings.audit_retention}) and may not be deleted; --before "
                           f"{before:%Y-%m-%d %H:%M} would delete them early",
                           hint=f"give --before {cutoff:%Y-%m-%d} or earlier, or leave it out")
    signer = load_signer(settings)
    if signer is None:
        raise RefusedError("pruning needs a signing key: without a signed checkpoint nothing could prove that "
                           "the remaining log continues the pruned one",
                           hint="set SHIPYARD_AUDIT_SIGNING_KEY (create one with `shipyard audit keygen`)")
    verification = verify_log(settings=settings)
    if not verification.ok:
        raise TamperedError(f"the audit log does not verify, so nothing is pruned: {verification.problem}",
                            hint="run `shipyard audit verify`")
    events = read_events(settings=settings)
    old = _old_prefix(events, before)
    if not old:
        raise RefusedError(f"no audit event is older than {before:%Y-%m-%d %H:%M} UTC: nothing to prune",
                           hint=f"the retention is {settings.audit_retention}")
    exported_through, export = _exported_through(events, settings)
    anchored = {c.seq for c in load_checkpoints(settings, load_verifier(settings)).valid}
    limit = min(old[-1].seq, exported_through)
    through = max((seq for seq in anchored if events[0].seq <= seq <= limit), default=None)
    if through is None:
        missing = (f"no intact export holds event {events[0].seq}" if exported_through < events[0].seq
                   else f"no signed checkpoint anchors an event from {events[0].seq} to {limit}")
        raise RefusedError(f"nothing can be pruned yet: {missing}",
                           hint="run `shipyard audit export --out DIR` and `shipyard audit checkpoint` first")
    boundary = next(e for e in events if e.seq == through)
    with session_scope(settings) as session:
        deleted = session.execute(delete(AuditEvent).where(AuditEvent.seq <= through)).rowcount
        append_event(actor=current_actor(), action=PRUNED, session=session, settings=settings,
                     reason=f"events {events[0].seq} to {through} deleted after export to {export}",
                     details={"through_seq": through, "through_hash": boundary.hash, "export": export})
    write_checkpoint(settings, signer=signer)
    return Pruned(through_seq=through, deleted=deleted, export=export)


def _old_prefix(events: list[Event], before: datetime) -> list[Event]:
    """The oldest events, up to the first one dated at or after ``before``."""
    prefix = []
    for event in events:
        if event.time >= before:
            break
        prefix.append(event)
    return prefix


def _exported_through(events: list[Event], settings: Settings) -> tuple[int, str]:
    """The newest event that a still-intact export holds, counting only exports that start at or before
    the log's first event; (0, "") when there is none."""
    first = events[0].seq
    by_seq = {e.seq: e for e in events}
    best, where = 0, ""
    for event in events:
        if event.action != EXPORTED:
            continue
        details = event.details
        if details.get("first_seq", first + 1) > first or details.get("last_seq", 0) <= best:
            continue
        last = by_seq.get(details["last_seq"])
        if last is None or last.hash != details.get("last_hash"):
            continue
        try:
            data = ObjectFolder(details["folder"]).read(details["name"])
        except (FileNotFoundError, BackendError):
            continue
        if hashlib.sha256(data).hexdigest() == details.get("sha256"):
            best, where = details["last_seq"], f"{details['folder'].rstrip('/')}/{details['name']}"
    return best, where
