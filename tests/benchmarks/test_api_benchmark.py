import statistics
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import create_engine, text

import api
import api_data
from api_data import ModelFacts


def test_each_model_spec_declares_the_tags_mlflow_holds():
    from shipyard.registry.catalog import spec_facts

    facts = ModelFacts(41)
    declared = spec_facts("digest-41", facts.spec())
    assert declared["team"] == facts.team == "fraud"
    assert declared["tags"] == facts.tags == {"tier": "2", "domain": "fraud"}
    assert declared["inputs"] == ("amount", "col_1") and declared["output"] == "label_2"


@pytest.mark.parametrize("models", [2, 10, 100, 137])
def test_the_catalog_search_and_mlflows_filter_select_the_same_models(models):
    search = api.queries(models)[0]
    ours = parse_qs(urlsplit(search.shipyard).query)
    theirs = parse_qs(urlsplit(search.mlflow).query)["filter"][0]
    team, tier, column = ours["team"][0], ours["tag"][0].removeprefix("tier="), ours["column"][0]
    assert theirs == f"tags.team = '{team}' AND tags.tier = '{tier}'"
    every = [ModelFacts(i) for i in range(models)]
    by_spec = {f.name for f in every if f.team == team and f.tags["tier"] == tier and column in f.columns}
    by_tags = {f.name for f in every if f.team == team and f.tags["tier"] == tier}
    assert by_spec == by_tags and by_spec


def test_the_versions_query_names_a_model_that_exists():
    for models in (2, 10, 100):
        listing = api.queries(models)[1]
        name = listing.shipyard.split("/")[4]
        assert int(name.removeprefix("m")) < models and f"name='{name}'" in parse_qs(urlsplit(listing.mlflow).query)[
            "filter"][0]


@pytest.mark.postgres
def test_throwaway_databases_are_dropped_on_the_way_out(postgres_server_url):
    with api.throwaway_databases(postgres_server_url, "api_bench_test_drop") as (url,):
        engine = create_engine(url)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT current_database()")).scalar() == "api_bench_test_drop"
        engine.dispose()
    admin = create_engine(postgres_server_url)
    with admin.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM pg_database WHERE datname = 'api_bench_test_drop'")
                                  ).scalar() == 0
    admin.dispose()


@pytest.mark.postgres
def test_both_sides_hold_the_same_models_versions_and_tags(new_postgres_database, tmp_path, monkeypatch):
    from mlflow.tracking import MlflowClient

    from shipyard.config import load_settings
    from shipyard.registry.catalog import CatalogQuery, search_catalog
    from shipyard.registry.lifecycle import list_states
    from shipyard.store.db import reset_engines

    monkeypatch.setenv("SHIPYARD_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SHIPYARD_DATABASE_URL", new_postgres_database("api_bench_store"))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", new_postgres_database("api_bench_mlflow"))
    reset_engines()
    try:
        settings = load_settings()
        lines = []
        api_data.populate(4, 3, settings, workers=4, progress=lambda line, **_: lines.append(line))
        states = list_states(settings=settings)
        versions = MlflowClient().search_model_versions("")
        found, total = search_catalog(CatalogQuery(team="fraud", tag="tier=2", column="col_1"), settings=settings)
    finally:
        reset_engines()
    assert {(s.model, s.version, s.state) for s in states} == {
        (f"m{i}", str(v), "candidate") for i in range(4) for v in (1, 2, 3)}
    assert {(v.name, str(v.version)) for v in versions} == {(s.model, s.version) for s in states}
    for version in versions:
        facts = ModelFacts(int(version.name.removeprefix("m")))
        assert {k: version.tags[k] for k in ("tier", "domain", "shipyard.state")} == {**facts.tags,
                                                                                     "shipyard.state": "candidate"}
    registered = MlflowClient().search_registered_models("tags.team = 'fraud' AND tags.tier = '2'")
    assert [e.name for e in found] == [m.name for m in registered] == ["m1"] and total == 1
    assert found[0].versions == 3 and found[0].inputs == ("amount", "col_1")
    assert lines[-1].startswith("  registered 4/4 models × 3 versions")


def _run(rps, p50, p99, requests=100, failed=0):
    return {"rps": rps, "p50": p50, "p99": p99, "requests": requests, "non2xx": failed, "socket_errors": 0}


def test_the_p99_row_is_judged_against_half_of_mlflows():
    query = api.queries(100)[1]
    rows = api.compared(query, 16, [_run(200, 5, 20), _run(180, 6, 30)], [_run(50, 20, 80), _run(40, 30, 50)],
                        "mlflow", 10)
    assert [r.what.removeprefix("API list one model's versions (m42), 16 connections: ") for r in rows] == [
        "throughput", "p50", "p99 (goal: ≥ 2×)"]
    assert rows[2].ratio == statistics.median([80 / 20, 50 / 30]) and rows[2].note == ""


def test_a_side_that_completed_no_request_has_no_latency_ratio():
    query = api.queries(100)[0]
    nothing = _run(0.0, float("nan"), float("nan"), requests=0)
    rows = api.compared(query, 16, [_run(200, 5, 20, failed=3)] * 2, [_run(3, 900, 1900), nothing], "mlflow", 10)
    assert rows[0].ratio is not None and rows[0].note == "6 non-2xx answers or socket errors"
    assert rows[1].ratio is None and rows[1].shipyard == "5.00 ms"
    assert rows[2].note == "MLflow completed no request within a 10 s run"


def test_an_unreachable_postgresql_server_is_named_with_its_password_hidden():
    reason = api.postgres_unreachable("postgresql+psycopg://bench:s3cret@127.0.0.1:1/none")
    assert reason.startswith("PostgreSQL at postgresql+psycopg://bench:***@127.0.0.1:1/none did not answer")
    assert "s3cret" not in reason and reason.endswith("set SHIPYARD_BENCH_POSTGRES_URL")
