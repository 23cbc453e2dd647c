"""``/api/v1/models``: the catalog, versions, comparisons, gate results, model cards and lineage."""

from __future__ import annotations

from dataclasses import asdict
from typing import Literal

from fastapi import APIRouter, Depends, Query

from shipyard.config import Settings
from shipyard.errors import NotFoundError
from shipyard.registry.catalog import SORT_KEYS as CATALOG_SORT_KEYS
from shipyard.server.auth import Caller, caller
from shipyard.server.pagination import Page, Window, parse_sort, sort_query, sort_in_memory, window
from shipyard.server.problems import problem_responses
from shipyard.server.schemas import (CardOut, CatalogEntryOut, Comparison, GateReportOut, Lineage, Severity,
                                     VersionDetail, VersionOut)
from shipyard.server.settings import app_settings

router = APIRouter(prefix="/models", tags=["models"])

VERSION_SORT = {"version": lambda s: int(s.version), "state": lambda s: (s.state, int(s.version)),
                "updated_at": lambda s: (s.updated_at, int(s.version))}


@router.get("", response_model=Page[CatalogEntryOut],
            summary="The model catalog: search every model by name, team, tag, column, state, SLO, drift",
            responses=problem_responses(400, 401, 403, 422, 503))
def catalog(q: str | None = Query(None, description="Part of the name or description (any case)."),
            team: str | None = Query(None, description="The owning team."),
            tag: str | None = Query(None, description="KEY or KEY=VALUE of a registry tag."),
            column: str | None = Query(None, description="An input column or the output."),
            state: str | None = Query(None, description="Models with at least one version in this state."),
            has_slo: bool | None = Query(None, description="Models whose spec declares (or not) rollout SLOs."),
            drift: Severity | None = Query(None, description="The severity of the model's newest drift report."),
            sort: str = sort_query("name", CATALOG_SORT_KEYS),
            page: Window = Depends(window), who: Caller = Depends(caller),
            settings: Settings = Depends(app_settings)) -> dict:
    from shipyard.registry.catalog import CatalogQuery, search_catalog

    order = parse_sort(sort, CATALOG_SORT_KEYS)
    query = CatalogQuery(text=q, team=team, tag=tag, column=column, state=state, has_slo=has_slo,
                         drift_severity=drift)
    with who.acting():
        entries, total = search_catalog(query, sort=order.key, descending=order.descending, offset=page.offset,
                                        limit=page.limit, settings=settings)
    return page.page([asdict(e) for e in entries], total)


@router.get("/{model}", response_model=CatalogEntryOut, summary="One model's catalog entry",
            responses=problem_responses(401, 403, 404, 503))
def show_model(model: str, who: Caller = Depends(caller), settings: Settings = Depends(app_settings)) -> dict:
    from shipyard.registry.catalog import catalog_entry

    with who.acting():
        return asdict(catalog_entry(model, settings=settings))


@router.get("/{model}/versions", response_model=Page[VersionOut], summary="A model's versions and their states",
            responses=problem_responses(400, 401, 403, 404, 422, 503))
def list_versions(model: str, state: str | None = Query(None, description="Only versions in this state."),
                  sort: str = sort_query("-version", tuple(VERSION_SORT)),
                  page: Window = Depends(window), who: Caller = Depends(caller),
                  settings: Settings = Depends(app_settings)) -> dict:
    from shipyard.registry.lifecycle import list_states

    order = parse_sort(sort, tuple(VERSION_SORT))
    with who.acting():
        states = list_states(model, settings=settings)
    if not states:
        raise NotFoundError(f"there is no model '{model}' in the registry",
                            hint="GET /api/v1/models lists the registered models")
    chosen = [s for s in states if state is None or s.state == state]
    return page.slice([asdict(s) for s in sort_in_memory(chosen, order, VERSION_SORT)])


@router.get("/{model}/versions/{version}", response_model=VersionDetail,
            summary="One version's state and its audit history", responses=problem_responses(401, 403, 404, 503))
def show_version(model: str, version: str, who: Caller = Depends(caller),
                 settings: Settings = Depends(app_settings)) -> dict:
    from shipyard.governance.audit import read_events
    from shipyard.registry.gating import is_gate_record
    from shipyard.registry.lifecycle import get_state

    with who.acting():
        state = get_state(model, version, settings=settings)
        events = [e for e in read_events(model=model, settings=settings) if e.version == state.version]
    return asdict(state) | {"history": [asdict(e) for e in events], "gated": any(map(is_gate_record, events))}


@router.get("/{model}/compare", response_model=Comparison,
            summary="Two versions side by side: state, metrics, changed parameters, data, inputs",
            responses=problem_responses(401, 403, 404, 422, 503))
def compare(model: str, left: str = Query(..., pattern=r"^[0-9]+$"), right: str = Query(..., pattern=r"^[0-9]+$"),
            who: Caller = Depends(caller), settings: Settings = Depends(app_settings)) -> dict:
    from shipyard.registry.compare import compare_versions

    with who.acting():
        return compare_versions(model, left, right, settings=settings)


@router.get("/{model}/versions/{version}/gates", response_model=GateReportOut,
            summary="The version's recorded gate results", responses=problem_responses(401, 403, 404, 503))
def gate_results(model: str, version: str, who: Caller = Depends(caller),
                 settings: Settings = Depends(app_settings)) -> dict:
    from shipyard.registry.gating import recorded_report
    from shipyard.registry.lifecycle import get_state

    with who.acting():
        get_state(model, version, settings=settings)
        report = recorded_report(model, version, settings=settings)
    if report is None:
        raise NotFoundError(f"{model} version {version} has no gate results yet",
                            hint=f"evaluate its gates: POST /api/v1/models/{model}/versions/{version}/gates")
    return report.to_dict()


@router.post("/{model}/versions/{version}/gates", response_model=GateReportOut,
             summary="Evaluate the version's promotion gates now (a failing gate rejects it)",
             responses=problem_responses(401, 403, 404, 409, 422, 503))
def evaluate_gates(model: str, version: str, who: Caller = Depends(caller),
                   settings: Settings = Depends(app_settings)) -> dict:
    from shipyard.registry.gating import gate_version

    with who.acting():
        return gate_version(model, version, actor=who.name, settings=settings).to_dict()


@router.get("/{model}/versions/{version}/card", response_model=CardOut,
            summary="The model card, checked against its recorded digests, and who overrode its gates or shadow stage",
            responses=problem_responses(401, 403, 404, 409, 422, 503))
def model_card(model: str, version: str, format: Literal["markdown", "html"] = "markdown",
               who: Caller = Depends(caller), settings: Settings = Depends(app_settings)) -> dict:
    from shipyard.registry.cards import read_card
    from shipyard.registry.lifecycle import gate_overrides
    from shipyard.serving.shadow_stage import shadow_overrides

    with who.acting():
        record, text = read_card(model, version, html_page=format == "html", settings=settings)
        overrides = gate_overrides(model, version, settings=settings)
        shadow = shadow_overrides(model, version, settings=settings)
    return asdict(record) | {"format": format, "text": text, "gate_overrides": [asdict(e) for e in overrides],
                             "shadow_overrides": [asdict(e) for e in shadow]}


@router.get("/{model}/versions/{version}/lineage", response_model=Lineage,
            summary="Data file → digest → validation report → run → model version",
            responses=problem_responses(401, 403, 404, 503))
def lineage(model: str, version: str, who: Caller = Depends(caller),
            settings: Settings = Depends(app_settings)) -> dict:
    from shipyard.registry.lineage import model_lineage

    with who.acting():
        return model_lineage(model, version, settings=settings)
