"""The model catalog over a populated metadata store: 100 models × 50 versions, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event

from shipyard.config import load_settings
from shipyard.registry.catalog import CatalogQuery, catalog_entry, search_catalog
from shipyard.store.db import get_engine, session_scope
from shipyard.store.models import Deployment, DriftReport, ModelHead, ModelVersionState, PipelineRun

MODELS, VERSIONS = 100, 50
TEAMS = ("growth", "fraud", "search", "ads", "risk")
T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)


def _spec(i: int) -> str:
    team = TEAMS[i % len(TEAMS)]
    slo = "deployment:\n  slo: {max_p99_latency_ms: 40}\n" if i % 4 == 0 else ""
    return (f"name: model_{i:03d}\nteam: {team}\ndescription: Model number {i} for {team}.\n"
            f"data:\n  source: {{type: csv, path: d.csv}}\n  target: label_{i % 3}\n"
            f"features:\n  - columns: [amount, col_{i}]\n    transforms: [{{kind: scale}}]\n"
            f"model: {{flavor: sklearn, estimator: LogisticRegression}}\n"
            f"registry:\n  tags: {{tier: '{i % 2 + 1}', domain: {team}}}\n{slo}")


def _populate(settings) -> None:
    with session_scope(settings) as s:
        for i in range(MODELS):
            name = f"model_{i:03d}"
            s.add(ModelHead(model=name, production_version="1" if i % 2 == 0 else None, row_version=0))
        s.flush()
        for i in range(MODELS):
            name = f"model_{i:03d}"
            for v in range(1, VERSIONS + 1):
                state = "production" if (i % 2 == 0 and v == 1) else ("rejected" if v % 10 == 0 else "archived")
                if i == 7 and v == VERSIONS:
                    state = "staging"
                s.add(ModelVersionState(model=name, version=str(v), state=state, approval="auto", synced=True,
                                        was_production=False, updated_at=T0 + timedelta(minutes=i * 60 + v)))
            for v, text in ((VERSIONS - 1, "name: stale\nteam: nobody\n"), (VERSIONS, _spec(i))):
                digest = hashlib.sha256(text.encode()).hexdigest()
                s.add(PipelineRun(id=f"r{i:03d}{v:02d}", pipeline=name, spec_text=text, spec_digest=digest,
                                  status="succeeded", created_at=T0 + timedelta(hours=i, minutes=v), options={},
                                  model_name=name, model_version=str(v)))
            for k, severity in enumerate(("critical", "ok") if i % 5 == 0 else ()):
                s.add(DriftReport(id=f"d{i:03d}{k}", model=name, version="1", rows=100, severity=severity,
                                  window_start=T0, window_end=T0, report={}, created_at=T0 + timedelta(days=k + 1)))
        s.add(Deployment(model="model_000", revision=1, arms=[{"role": "stable", "version": "1", "weight": 0.0}],
                         updated_at=T0, updated_by="t"))


@pytest.fixture
def populated(database_url):
    settings = load_settings()
    _populate(settings)
    return settings


def _names(entries) -> list[str]:
    return [e.name for e in entries]


def test_catalog_answers_every_question_in_a_fixed_number_of_queries(populated):
    statements = []
    engine = get_engine(populated)
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        page, total = search_catalog(settings=populated, limit=10)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert total == MODELS and _names(page) == [f"model_{i:03d}" for i in range(10)]
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) <= 6
    first = page[0]
    assert first.team == "growth" and first.versions == VERSIONS and first.latest_version == str(VERSIONS)
    assert first.inputs == ("amount", "col_0") and first.output == "label_0"
    assert first.tags == {"tier": "1", "domain": "growth"} and first.slo["max_p99_latency_ms"] == 40
    assert first.production_version == "1" and first.stable_version == "1"
    assert first.states == {"production": 1, "rejected": 5, "archived": 44}
    assert first.drift_severity == "ok" and first.drift_checked_at == T0 + timedelta(days=2)


def test_filters_combine(populated):
    def search(**query):
        return search_catalog(CatalogQuery(**query), settings=populated, limit=500)

    assert search(team="fraud")[1] == MODELS // len(TEAMS)
    assert _names(search(column="col_42")[0]) == ["model_042"]
    assert search(column="label_2")[1] == len([i for i in range(MODELS) if i % 3 == 2])
    assert search(tag="tier=2")[1] == MODELS // 2 and search(tag="domain")[1] == MODELS
    assert search(tag="tier=3")[1] == 0
    assert _names(search(state="staging")[0]) == ["model_007"]
    assert search(has_slo=True)[1] == MODELS // 4 and search(has_slo=False)[1] == MODELS - MODELS // 4
    assert search(drift_severity="ok")[1] == MODELS // 5 and search(drift_severity="critical")[1] == 0
    assert _names(search(text="NUMBER 55 ")[0]) == ["model_055"]
    assert search(team="growth", has_slo=True)[1] == len([i for i in range(0, MODELS, 20)])


def test_a_search_on_what_specs_declare_reads_the_versions_of_matching_models_only(populated):
    engine = get_engine(populated)
    statements = []
    listener = lambda *args: statements.append((args[2], args[3]))  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        page, total = search_catalog(CatalogQuery(team="fraud", tag="tier=2", column="col_41"), settings=populated)
        nothing = search_catalog(CatalogQuery(team="nobody"), settings=populated)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert _names(page) == ["model_041"] and total == 1 and page[0].versions == VERSIONS
    assert page[0].states == {"rejected": 5, "archived": 45}
    assert nothing == ([], 0)
    version_reads = [(sql, params) for sql, params in statements if "FROM model_version_states" in sql]
    assert len(version_reads) == 1  # the search that no spec can satisfy reads no versions at all
    assert "model_041" in str(version_reads[0][1]) and "model_042" not in str(version_reads[0][1])


def test_a_model_registered_without_a_run_is_found_by_name_not_by_spec(populated):
    with session_scope(populated) as s:
        s.add(ModelHead(model="bare", production_version=None, row_version=0))
        s.flush()
        s.add(ModelVersionState(model="bare", version="1", state="candidate", approval="auto", synced=True,
                                was_production=False, updated_at=T0))
    assert _names(search_catalog(CatalogQuery(text="bar"), settings=populated)[0]) == ["bare"]
    assert search_catalog(CatalogQuery(text="bare", has_slo=False), settings=populated)[1] == 1
    assert search_catalog(CatalogQuery(text="bare", has_slo=True), settings=populated)[1] == 0
    assert search_catalog(CatalogQuery(text="bare", team="growth"), settings=populated)[1] == 0


def test_sorting_and_paging(populated):
    page, total = search_catalog(sort="updated_at", descending=True, offset=0, limit=3, settings=populated)
    assert _names(page) == ["model_099", "model_098", "model_097"] and total == MODELS
    page, _ = search_catalog(sort="team", offset=0, limit=2, settings=populated)
    assert [e.team for e in page] == ["ads", "ads"]
    page, _ = search_catalog(sort="drift_severity", descending=True, limit=1, settings=populated)
    assert page[0].drift_severity == "ok"
    page, total = search_catalog(offset=95, limit=10, settings=populated)
    assert len(page) == 5 and total == MODELS
    with pytest.raises(ValueError, match="sort must be one of"):
        search_catalog(sort="colour", settings=populated)


def test_one_entry_and_a_misspelt_name(populated):
    from shipyard.errors import NotFoundError

    entry = catalog_entry("model_030", settings=populated)
    assert entry.team == "growth" and entry.drift_severity == "ok" and entry.versions == VERSIONS
    assert entry.inputs == ("amount", "col_30") and entry.production_version == "1"
    assert entry == next(e for e in search_catalog(settings=populated, limit=500)[0] if e.name == "model_030")
    with pytest.raises(NotFoundError, match="did you mean model_031"):
        catalog_entry("model_0031", settings=populated)
