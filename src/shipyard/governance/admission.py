"""Admission of pipeline runs under their team's quota: one FIFO queue per team.

A run asks before its first step, with what it will hold (:class:`Request`). Each ask takes the
team's lock (a row lock on PostgreSQL, SQLite's write lock), drops the entries of runs whose
process is gone (their lease lapsed), then admits queued runs in ticket order while they fit
beside the admitted ones; the first that does not fit stops the line, so a later, smaller run
never overtakes it. Teams never wait on each other: each has its own lock and queue. A run
leaves the queue, or gives its share back, when it ends.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from shipyard.config import Settings
from shipyard.errors import RefusedError
from shipyard.governance.quotas import Quota
from shipyard.store.db import session_scope
from shipyard.store.leases import holder_of
from shipyard.store.models import PipelineRun, RunAdmission, TeamQueue, utcnow


@dataclass(frozen=True, kw_only=True)
class Request:
    """What one run holds while it runs (besides counting as one run)."""

    cpu: float = 0.0
    memory: int = 0
    gpus: int = 0
    sweep_trials: int = 0


@dataclass(frozen=True, kw_only=True)
class Decision:
    admitted: bool
    position: int | None = None
    """1 for the next run of its team to be admitted; None once admitted."""
    reason: str | None = None

    def describe(self) -> str:
        return f"queued: {self.reason}; position {self.position} in its queue"


@dataclass(frozen=True, kw_only=True)
class QueueEntry:
    run_id: str
    pipeline: str
    team: str
    position: int
    request: Request
    enqueued_at: datetime
    reason: str | None


def ask(run_id: str, *, team: str, request: Request, quota: Quota, settings: Settings | None = None) -> Decision:
    """Queue the run (first ask) and admit whoever fits now; whether this run is admitted, else its place."""
    _refuse_impossible(team, request, quota)
    with session_scope(settings) as s:
        queue = _lock(s, team)
        entry = s.get(RunAdmission, run_id)
        if entry is None:
            entry = RunAdmission(run_id=run_id, team=team, ticket=queue.next_ticket, state="queued",
                                 cpu=request.cpu, memory=request.memory, gpus=request.gpus,
                                 sweep_trials=request.sweep_trials, enqueued_at=utcnow())
            queue.next_ticket += 1
            s.add(entry)
            s.flush()
        waiting = _admit_in_order(s, team, quota, asking=run_id)
        if entry.state == "admitted":
            return Decision(admitted=True)
        return Decision(admitted=False, position=waiting.index(entry) + 1, reason=entry.reason)


def leave(run_id: str, *, settings: Settings | None = None) -> None:
    """The run's queue entry or its share of the quota is gone (it ended, was cancelled, or resumes anew)."""
    with session_scope(settings) as s:
        s.execute(delete(RunAdmission).where(RunAdmission.run_id == run_id))


def queue(*, team: str | None = None, settings: Settings | None = None) -> list[QueueEntry]:
    """The runs waiting, by team and then by position; runs whose process is gone are left out."""
    with session_scope(settings) as s:
        query = select(RunAdmission, PipelineRun).join(PipelineRun, PipelineRun.id == RunAdmission.run_id)\
            .where(RunAdmission.state == "queued").order_by(RunAdmission.team, RunAdmission.ticket)
        if team is not None:
            query = query.where(RunAdmission.team == team)
        entries, places = [], {}
        for entry, run in s.execute(query):
            if not holder_of(run).alive():
                continue
            places[entry.team] = places.get(entry.team, 0) + 1
            entries.append(QueueEntry(run_id=entry.run_id, pipeline=run.pipeline, team=entry.team,
                                      position=places[entry.team], request=_request(entry),
                                      enqueued_at=entry.enqueued_at, reason=entry.reason))
        return entries


@dataclass(frozen=True, kw_only=True)
class Usage:
    """What a team's running runs hold now, and how many of its runs wait."""

    runs: int
    held: Request
    queued: int


def usage(team: str, *, settings: Settings | None = None) -> Usage:
    """The team's admitted runs whose process is alive, what they hold in all, and its live queued runs."""
    with session_scope(settings) as s:
        rows = s.execute(select(RunAdmission, PipelineRun).join(PipelineRun, PipelineRun.id == RunAdmission.run_id)
                         .where(RunAdmission.team == team)).all()
        now = utcnow()
        live = [entry for entry, run in rows if holder_of(run).alive(now)]
        admitted = [_request(e) for e in live if e.state == "admitted"]
        return Usage(runs=len(admitted), queued=sum(1 for e in live if e.state == "queued"),
                     held=Request(cpu=sum(r.cpu for r in admitted), memory=sum(r.memory for r in admitted),
                                  gpus=sum(r.gpus for r in admitted),
                                  sweep_trials=sum(r.sweep_trials for r in admitted)))


def positions(run_ids: Iterable[str], *, settings: Settings | None = None) -> dict[str, int]:
    """The queue position of each of ``run_ids`` that is waiting."""
    wanted = set(run_ids)
    if not wanted:
        return {}
    with session_scope(settings) as s:
        teams = s.scalars(select(RunAdmission.team).distinct()
                          .where(RunAdmission.run_id.in_(wanted), RunAdmission.state == "queued")).all()
    return {e.run_id: e.position for t in teams for e in queue(team=t, settings=settings) if e.run_id in wanted}


def _lock(s: Session, team: str) -> TeamQueue:
    """The team's queue row, locked until the transaction ends; the first write takes SQLite's write lock."""
    dialect = s.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        s.execute(insert(TeamQueue).values(team=team, next_ticket=1).on_conflict_do_nothing(index_elements=["team"]))
    elif s.get(TeamQueue, team) is None:
        s.add(TeamQueue(team=team, next_ticket=1))
        s.flush()
    return s.scalars(select(TeamQueue).where(TeamQueue.team == team).with_for_update()
                     .execution_options(populate_existing=True)).one()


def _admit_in_order(s: Session, team: str, quota: Quota, *, asking: str) -> list[RunAdmission]:
    """Drop entries of runs whose process is gone, admit queued runs in ticket order while they fit; the rest.

    The asking run is alive: it holds its lease while it asks.
    """
    rows = s.execute(select(RunAdmission, PipelineRun).join(PipelineRun, PipelineRun.id == RunAdmission.run_id)
                     .where(RunAdmission.team == team).order_by(RunAdmission.ticket)).all()
    now = utcnow()
    gone = [entry.run_id for entry, run in rows if entry.run_id != asking and not holder_of(run).alive(now)]
    if gone:
        s.execute(delete(RunAdmission).where(RunAdmission.run_id.in_(gone)).execution_options(
            synchronize_session="fetch"))
    live = [entry for entry, _ in rows if entry.run_id not in gone]
    held = [_request(e) for e in live if e.state == "admitted"]
    waiting = [e for e in live if e.state == "queued"]
    ahead = 0
    for entry in list(waiting):
        shortfall = _shortfall(team, quota, held, _request(entry))
        if shortfall is None and not ahead:
            entry.state, entry.admitted_at, entry.reason = "admitted", now, None
            held.append(_request(entry))
            waiting.remove(entry)
            continue
        entry.reason = shortfall or f"{ahead} earlier run{'s' if ahead > 1 else ''} of team {team} must start first"
        ahead += 1
    s.flush()
    return waiting


def _shortfall(team: str, quota: Quota, held: list[Request], need: Request) -> str | None:
    """Why ``need`` does not fit beside ``held`` under ``quota``; None when it fits."""
    if quota.runs is not None and len(held) + 1 > quota.runs:
        return f"team {team} is at its quota ({len(held)} of {quota.runs} runs running)"
    for name, unit, show in (("cpu", "CPUs", _number), ("memory", "memory", _size), ("gpus", "GPUs", _number),
                             ("sweep_trials", "sweep trials", _number)):
        limit = getattr(quota, name)
        used = sum(getattr(r, name) for r in held)
        wanted = getattr(need, name)
        if limit is not None and wanted and used + wanted > limit + 1e-9:
            return (f"team {team} is at its quota ({show(used)} of {show(limit)} {unit} in use; "
                    f"this run needs {show(wanted)})")
    return None


def _refuse_impossible(team: str, request: Request, quota: Quota) -> None:
    """A run that needs more than its team's whole quota would wait forever: refused at once instead."""
    for name, unit, show in (("cpu", "CPUs", _number), ("memory", "memory", _size), ("gpus", "GPUs", _number)):
        limit, wanted = getattr(quota, name), getattr(request, name)
        if limit is not None and wanted > limit + 1e-9:
            raise RefusedError(f"the run needs {show(wanted)} {unit} (its widest step), but team {team}'s quota "
                               f"is {show(limit)}; it could never be admitted",
                               headline="over quota",
                               hint=f"lower the step's resources.{'gpu' if name == 'gpus' else name}, or ask "
                                    "the platform admins to raise the team's quota")


def _request(entry: RunAdmission) -> Request:
    return Request(cpu=entry.cpu, memory=entry.memory, gpus=entry.gpus, sweep_trials=entry.sweep_trials)


def _number(value: float) -> str:
    return f"{value:g}"


def _size(value: float) -> str:
    for unit, factor in (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if value >= factor:
            return f"{value / factor:.3g}{unit}"
    return f"{int(value)}B"
