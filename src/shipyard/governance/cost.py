"""What runs and deployments cost, attributed to team and model, from what was recorded.

A pipeline step costs its recorded resources (cores, memory, GPUs, as the run recorded them
when it started) for its measured duration — for a sweep, the summed seconds of its trials —
at the price list's rates. A step served from the cache, and a step of a run recorded before
runs kept their resources, costs nothing and is counted as not priced. A deployment costs the
requests its gateways answered (each version answering a mirrored request counts), per 1,000,
and its gateways' serving time: each gateway's resource request for the time it served the model
(``serving.serving_time``). Runs belong to the window they were created in; requests to the day
they were answered, serving time to the hour it was served in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select

from shipyard.config import Settings
from shipyard.errors import UsageError
from shipyard.governance.prices import GIB, PriceList
from shipyard.store.db import session_scope
from shipyard.store.models import ModelOwner, PipelineRun, StepRun

GROUPINGS = ("team", "model", "run")
NO_TEAM = "(no team)"
_SPAN = re.compile(r"^([1-9][0-9]{0,4})([mhdw])$")
_SPAN_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


@dataclass(frozen=True, kw_only=True)
class CostRecord:
    kind: str
    """``step`` or ``serving``."""
    team: str | None
    model: str
    run_id: str | None
    step: str | None
    day: str
    """UTC day (``YYYY-MM-DD``) the usage belongs to."""
    usage: str
    """What was charged, in words: resources × hours, or requests."""
    hours: float = 0.0
    """Compute hours of a step."""
    serving_hours: float = 0.0
    """Gateway hours spent serving the model (a gateway serving several models shares its time)."""
    requests: int = 0
    cost: float


@dataclass(frozen=True, kw_only=True)
class CostLine:
    key: str
    """The team, model or run this line adds up."""
    team: str | None
    model: str | None
    cost: float
    compute_hours: float
    requests: int
    records: int
    serving_hours: float = 0.0
    per_1000_predictions: float | None = None
    """What serving cost (requests and gateway time) per 1,000 predictions; None when none were served."""


@dataclass(frozen=True, kw_only=True)
class CostReport:
    currency: str
    since: datetime
    until: datetime
    by: str
    total: float
    lines: list[CostLine] = field(default_factory=list)
    unpriced_steps: int = 0
    """Steps that ran but carry no recorded resources (runs recorded before resources were kept)."""


def parse_span(text: str) -> timedelta:
    """``30m``, ``12h``, ``7d`` or ``2w`` as a time span."""
    match = _SPAN.match((text or "").strip())
    if not match:
        raise UsageError(f"--since {text!r} is not a time span",
                         hint="give a whole number (1 to 99999) and a unit, e.g. 30m, 12h, 7d, 2w")
    return timedelta(seconds=int(match.group(1)) * _SPAN_SECONDS[match.group(2)])


def step_costs(prices: PriceList, *, since: datetime, until: datetime,
               settings: Settings | None = None) -> tuple[list[CostRecord], int]:
    """Each step of the runs created in ``[since, until)`` with its cost, and how many steps could not be priced."""
    records: list[CostRecord] = []
    unpriced = 0
    with session_scope(settings) as session:
        owners = {row.model: row.team for row in session.scalars(select(ModelOwner))}
        runs = session.scalars(select(PipelineRun).where(PipelineRun.created_at >= since,
                                                         PipelineRun.created_at < until)).all()
        ids = [run.id for run in runs]
        steps: dict[str, list[StepRun]] = {}
        for start in range(0, len(ids), 500):
            for step in session.scalars(select(StepRun).where(StepRun.run_id.in_(ids[start:start + 500]))):
                steps.setdefault(step.run_id, []).append(step)
        for run in runs:
            options = run.options or {}
            model = options.get("model") or run.model_name or run.pipeline
            team = options.get("team") or owners.get(model)
            resources: dict[str, Any] = options.get("resources") or {}
            day = run.created_at.astimezone(timezone.utc).strftime("%Y-%m-%d")
            for step in sorted(steps.get(run.id, []), key=lambda s: s.position):
                seconds = _busy_seconds(step)
                if seconds is None:
                    continue
                wanted = resources.get(step.name)
                if wanted is None:
                    unpriced += 1
                    continue
                records.append(_step_record(prices, step, wanted, seconds, run=run, model=model, team=team,
                                            day=day))
    return records, unpriced


def serving_costs(prices: PriceList, requests: dict[str, dict[str, int]], *,
                  serving_time: dict[str, dict[str, list[tuple[float, dict[str, Any]]]]] | None = None,
                  teams: dict[str, str] | None = None, settings: Settings | None = None) -> list[CostRecord]:
    """One record per model and day from the requests its gateways answered (``serving.usage.served_requests``)
    and the time they served it (``serving.serving_time.served_time``: seconds and each gateway's resources).

    A model's team is its recorded owner, else the team its runs named (``teams``)."""
    with session_scope(settings) as session:
        owners = {**(teams or {}), **{row.model: row.team for row in session.scalars(select(ModelOwner))}}
    serving_time = serving_time or {}
    records = []
    for model in sorted(set(requests) | set(serving_time)):
        counts, times = requests.get(model, {}), serving_time.get(model, {})
        for day in sorted(set(counts) | set(times)):
            count = counts.get(day, 0)
            served = times.get(day, [])
            seconds = sum(s for s, _ in served)
            time_cost = sum(_hourly(prices, resources) * s / 3600 for s, resources in served)
            usage = f"{count} requests" + (f", {seconds / 3600:.4f} gateway-h" if served else "")
            records.append(CostRecord(kind="serving", team=owners.get(model), model=model, run_id=None, step=None,
                                      day=day, usage=usage, serving_hours=seconds / 3600, requests=count,
                                      cost=count / 1000 * prices.requests + time_cost))
    return records


def _hourly(prices: PriceList, resources: dict[str, Any]) -> float:
    return prices.hourly(cpu=float(resources.get("cpu", 0)), memory_bytes=float(resources.get("memory", 0)),
                         gpus=float(resources.get("gpu", 0)), gpu_type=str(resources.get("gpu_type", "")))


def report(records: list[CostRecord], prices: PriceList, *, since: datetime, until: datetime, by: str = "team",
           team: str | None = None, model: str | None = None, unpriced_steps: int = 0) -> CostReport:
    """The records of ``team`` and ``model`` (all when None) added up by team, model or run, dearest first."""
    if by not in GROUPINGS:
        raise UsageError(f"cannot group cost by {by!r}", hint=f"group by one of {', '.join(GROUPINGS)}")
    kept = [r for r in records if (team is None or r.team == team) and (model is None or r.model == model)]
    groups: dict[str, list[CostRecord]] = {}
    for record in kept:
        key = {"team": record.team or NO_TEAM, "model": record.model,
               "run": record.run_id or f"serving:{record.model}"}[by]
        groups.setdefault(key, []).append(record)
    lines = [CostLine(key=key, team=_only({r.team for r in group}), model=_only({r.model for r in group}),
                      cost=sum(r.cost for r in group), compute_hours=sum(r.hours for r in group),
                      requests=sum(r.requests for r in group), records=len(group),
                      serving_hours=sum(r.serving_hours for r in group), per_1000_predictions=_per_1000(group))
             for key, group in groups.items()]
    lines.sort(key=lambda line: (-line.cost, line.key))
    return CostReport(currency=prices.currency, since=since, until=until, by=by,
                      total=sum(line.cost for line in lines), lines=lines, unpriced_steps=unpriced_steps)


def _per_1000(records: list[CostRecord]) -> float | None:
    served = [r for r in records if r.kind == "serving"]
    predictions = sum(r.requests for r in served)
    return sum(r.cost for r in served) / predictions * 1000 if predictions else None


def window_until_now(span: timedelta) -> tuple[datetime, datetime]:
    until = datetime.now(timezone.utc)
    return until - span, until


def _busy_seconds(step: StepRun) -> float | None:
    """Seconds the step held its resources: its trials' for a sweep, else its duration; None when it did not run."""
    if step.cache_hit or step.state == "cached":
        return None
    trials = (step.details or {}).get("trial_seconds")
    if step.kind == "sweep" and isinstance(trials, (int, float)):
        return float(trials)
    return step.duration_s


def _step_record(prices: PriceList, step: StepRun, wanted: dict[str, Any], seconds: float, *, run: PipelineRun,
                 model: str, team: str | None, day: str) -> CostRecord:
    cpu, memory, gpus = float(wanted.get("cpu", 0)), int(wanted.get("memory", 0)), int(wanted.get("gpu", 0))
    hours = seconds / 3600
    usage = f"{cpu:g} cores, {memory / GIB:.3g} GiB, {gpus} GPU × {hours:.4f} h"
    return CostRecord(kind="step", team=team, model=model, run_id=run.id, step=step.name, day=day, usage=usage,
                      hours=hours, cost=prices.hourly(cpu=cpu, memory_bytes=memory, gpus=gpus) * hours)


def _only(values: set[str | None]) -> str | None:
    return next(iter(values)) if len(values) == 1 else None


def cost_report(prices: PriceList, *, since: datetime, until: datetime, requests: dict[str, dict[str, int]],
                serving_time: dict[str, dict[str, list[tuple[float, dict[str, Any]]]]] | None = None,
                by: str = "team", team: str | None = None, model: str | None = None,
                settings: Settings | None = None) -> CostReport:
    """Steps of the runs in the window, the ``requests`` served and the gateways' ``serving_time`` in it, priced,
    filtered and added up."""
    steps, unpriced = step_costs(prices, since=since, until=until, settings=settings)
    teams = {record.model: record.team for record in steps if record.team}
    records = steps + serving_costs(prices, requests, serving_time=serving_time, teams=teams, settings=settings)
    return report(records, prices, since=since, until=until, by=by, team=team, model=model, unpriced_steps=unpriced)


def require_prices(prices: PriceList | None) -> PriceList:
    if prices is None:
        raise UsageError("no price list is declared, so nothing can be priced", headline="no price list",
                         hint="write one to $SHIPYARD_HOME/prices.toml or point SHIPYARD_PRICES at one, "
                              "e.g. cpu = 0.034, memory = 0.0045, requests = 0.02, [gpu] default = 2.48")
    return prices
