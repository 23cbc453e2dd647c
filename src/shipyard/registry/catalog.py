"""The model catalog: every registered model with who owns it, what it takes and how it is doing.

One pass of five set-based queries over the metadata store (version states, production heads, the
newest pipeline run per model, the newest drift report per model, deployments), whatever the number
of models and versions; no MLflow call. Owner, description, tags, inputs, output and SLOs come from
the spec that produced the model's newest run, read once per spec digest.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, cast, func, select

from shipyard.config import Settings
from shipyard.store.db import session_scope
from shipyard.store.models import Deployment, DriftReport, ModelHead, ModelVersionState, PipelineRun

SORT_KEYS = ("name", "team", "versions", "latest_version", "updated_at", "drift_severity")
SEVERITIES = ("ok", "warning", "critical")


@dataclass(frozen=True, kw_only=True)
class CatalogEntry:
    name: str
    team: str | None = None
    description: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    inputs: tuple[str, ...] = ()
    output: str | None = None
    slo: dict[str, Any] | None = None
    versions: int = 0
    latest_version: str | None = None
    production_version: str | None = None
    stable_version: str | None = None
    states: dict[str, int] = field(default_factory=dict)
    updated_at: datetime | None = None
    drift_severity: str | None = None
    drift_checked_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class CatalogQuery:
    """What to look for; every given condition must hold. ``text`` matches the name or description."""

    text: str | None = None
    team: str | None = None
    tag: str | None = None
    column: str | None = None
    state: str | None = None
    has_slo: bool | None = None
    drift_severity: str | None = None

    @property
    def needs_spec(self) -> bool:
        """Whether only a model whose spec declares something can match (one registered without a run cannot)."""
        return self.team is not None or self.tag is not None or self.column is not None or self.has_slo is True

    def matches(self, entry: CatalogEntry) -> bool:
        if not self.matches_spec(entry):
            return False
        if self.state is not None and not entry.states.get(self.state):
            return False
        return self.drift_severity is None or entry.drift_severity == self.drift_severity

    def matches_spec(self, entry: CatalogEntry) -> bool:
        """The conditions on what the model's spec declares (and its name), whatever its versions and drift."""
        if self.text and self.text.lower() not in f"{entry.name}\n{entry.description or ''}".lower():
            return False
        if self.team is not None and entry.team != self.team:
            return False
        if self.tag is not None and not _has_tag(entry.tags, self.tag):
            return False
        if self.column is not None and self.column not in entry.inputs and self.column != entry.output:
            return False
        return self.has_slo is None or (entry.slo is not None) == self.has_slo


def _has_tag(tags: dict[str, str], wanted: str) -> bool:
    key, sep, value = wanted.partition("=")
    return key in tags and (not sep or str(tags[key]) == value)


def search_catalog(query: CatalogQuery | None = None, *, sort: str = "name", descending: bool = False,
                   offset: int = 0, limit: int = 50,
                   settings: Settings | None = None) -> tuple[list[CatalogEntry], int]:
    """One page of the models matching ``query``, sorted by ``sort`` (one of :data:`SORT_KEYS`), and the total."""
    if sort not in SORT_KEYS:
        raise ValueError(f"sort must be one of {', '.join(SORT_KEYS)}, got {sort!r}")
    query = query or CatalogQuery()
    entries = [e for e in catalog_entries(described=query if query.needs_spec else None, settings=settings)
               if query.matches(e)]
    entries.sort(key=lambda e: _sort_value(e, sort), reverse=descending)
    return entries[offset:offset + limit], len(entries)


def _sort_value(entry: CatalogEntry, sort: str) -> tuple:
    if sort == "versions":
        return (entry.versions, entry.name)
    if sort == "latest_version":
        return (int(entry.latest_version or 0), entry.name)
    if sort == "drift_severity":
        return (SEVERITIES.index(entry.drift_severity) if entry.drift_severity in SEVERITIES else -1, entry.name)
    if sort == "updated_at":
        return (entry.updated_at.timestamp() if entry.updated_at else 0.0, entry.name)
    if sort == "team":
        return (entry.team or "", entry.name)
    return (entry.name,)


def catalog_entries(*, model: str | None = None, described: CatalogQuery | None = None,
                    settings: Settings | None = None) -> list[CatalogEntry]:
    """Every model known to the lifecycle (or just ``model``), by name.

    With ``described``, only the models whose spec meets its :meth:`~CatalogQuery.matches_spec`
    conditions: their specs are read first, and the other queries read those models' rows only.
    """
    with session_scope(settings) as s:
        specs = _newest(s, PipelineRun, PipelineRun.model_name, PipelineRun.created_at,
                        (PipelineRun.model_name, PipelineRun.spec_digest, PipelineRun.spec_text),
                        PipelineRun.model_name.is_not(None),
                        *(() if model is None else (PipelineRun.model_name == model,)))
        names = None if model is None else [model]
        if described is not None:
            names = [name for name, row in specs.items()
                     if described.matches_spec(CatalogEntry(name=name, **spec_facts(*row[1:])))]
            if not names:
                return []

        def only(column):
            return () if names is None else (column.in_(names),)

        counts: dict[str, dict[str, int]] = {}
        summary: dict[str, tuple[int, int | None, datetime | None]] = {}
        for name, state, n, latest, updated in s.execute(
                select(ModelVersionState.model, ModelVersionState.state, func.count(),
                       func.max(cast(ModelVersionState.version, Integer)), func.max(ModelVersionState.updated_at))
                .where(*only(ModelVersionState.model)).group_by(ModelVersionState.model, ModelVersionState.state)):
            counts.setdefault(name, {})[state] = n
            summary[name] = _merged(summary.get(name), (n, latest, updated))
        heads = dict(s.execute(select(ModelHead.model, ModelHead.production_version)
                               .where(*only(ModelHead.model))).all())
        drifts = _newest(s, DriftReport, DriftReport.model, DriftReport.created_at,
                         (DriftReport.model, DriftReport.severity, DriftReport.created_at), *only(DriftReport.model))
        stables = {name: next((a["version"] for a in arms if a.get("role") == "stable"), None)
                   for name, arms in s.execute(select(Deployment.model, Deployment.arms)
                                                .where(*only(Deployment.model)))}
    entries = []
    for name in sorted(summary):
        n, latest, updated = summary[name]
        facts = spec_facts(*specs[name][1:]) if name in specs else {}
        drift = drifts.get(name)
        entries.append(CatalogEntry(
            name=name, versions=n, latest_version=str(latest) if latest is not None else None,
            production_version=heads.get(name), stable_version=stables.get(name), states=counts.get(name, {}),
            updated_at=_utc(updated), drift_severity=drift[1] if drift else None,
            drift_checked_at=_utc(drift[2]) if drift else None, **facts))
    return entries


def catalog_entry(model: str, *, settings: Settings | None = None) -> CatalogEntry:
    """The catalog entry of one model."""
    from shipyard.errors import NotFoundError

    found = catalog_entries(model=model, settings=settings)
    if found:
        return found[0]
    import difflib

    with session_scope(settings) as s:
        known = s.scalars(select(ModelHead.model)).all()
    near = difflib.get_close_matches(model, known, n=3)
    raise NotFoundError(f"there is no model '{model}' in the registry" +
                        (f"; did you mean {', '.join(near)}?" if near else ""),
                        hint="GET /api/v1/models lists the registered models")


def _merged(left: tuple | None, right: tuple) -> tuple[int, int | None, datetime | None]:
    """Two states' (count, newest version, last update) as one."""
    if left is None:
        return right
    return (left[0] + right[0], *(max((v for v in pair if v is not None), default=None)
                                  for pair in zip(left[1:], right[1:])))


def _utc(moment: datetime | None) -> datetime | None:
    from datetime import timezone

    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=timezone.utc)


def _newest(session, table, key, order, columns, *conditions) -> dict[str, tuple]:
    """Per value of ``key``, ``columns`` of its row with the greatest ``order`` (one windowed query)."""
    rank = func.row_number().over(partition_by=key, order_by=order.desc()).label("rank")
    ranked = select(*columns, rank).where(*conditions).subquery()
    rows = session.execute(select(*(ranked.c[c.key] for c in columns)).where(ranked.c.rank == 1))
    return {row[0]: tuple(row) for row in rows}


@functools.lru_cache(maxsize=4096)
def spec_facts(digest: str, text: str) -> dict[str, Any]:
    """Owner, description, tags, input columns, output and SLOs that a pipeline spec declares (by its digest)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    from shipyard.spec.deployment import ServiceLevels

    try:
        data = YAML(typ="safe").load(text)
    except YAMLError:
        return {}
    if not isinstance(data, dict):
        return {}
    registry = data.get("registry") or {}
    features = data.get("features") or []
    inputs = [c for group in features if isinstance(group, dict) for c in group.get("columns") or []]
    deployment = data.get("deployment")
    slo = None
    if isinstance(deployment, dict):
        try:
            slo = ServiceLevels(**(deployment.get("slo") or {})).model_dump()
        except ValueError:
            slo = dict(deployment.get("slo") or {})
    return {"team": data.get("team"), "description": data.get("description"),
            "tags": {str(k): str(v) for k, v in (registry.get("tags") or {}).items()},
            "inputs": tuple(dict.fromkeys(str(c) for c in inputs)), "output": (data.get("data") or {}).get("target"),
            "slo": slo}
