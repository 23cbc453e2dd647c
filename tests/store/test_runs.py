"""Repository functions for runs, steps, artifacts and the cache, on SQLite and PostgreSQL."""

import dataclasses
import os
import socket
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import StatementError

from shipyard.errors import NotFoundError, RefusedError
from shipyard.store import runs
from shipyard.store.db import connection_scope, get_engine, session_scope
from shipyard.store.models import Artifact, CacheEntry, ModelOwner, PipelineRun, RunAdmission, StepRun
from shipyard.store.tables import cache_entries

T0 = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)


def _new(run_id="abcdef123456", pipeline="churn", **kwargs):
    runs.create_run(run_id=run_id, pipeline=pipeline, spec_path="/x/pipeline.yaml", spec_text="name: churn",
                    spec_digest="f" * 64, options={"no_cache": False, "from_step": None}, **kwargs)


def _in_threads(target, n=8):
    barrier = threading.Barrier(n)
    errors = []

    def run(i):
        barrier.wait()
        try:
            target(i)
        except Exception as exc:  # collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def _count(model, *where):
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def test_a_new_run_is_pending_with_its_spec_and_options(database_url):
    _new()
    record = runs.get_run("abcdef123456")
    assert (record.id, record.pipeline, record.status) == ("abcdef123456", "churn", "pending")
    assert (record.spec_path, record.spec_text, record.spec_digest) == ("/x/pipeline.yaml", "name: churn", "f" * 64)
    assert record.options == {"no_cache": False, "from_step": None}
    assert record.created_at.tzinfo is timezone.utc
    assert abs(datetime.now(timezone.utc) - record.created_at) < timedelta(minutes=1)
    assert record.steps == [] and record.result is None and record.error is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.status = "running"


def test_a_run_id_is_used_once(database_url):
    _new()
    with pytest.raises(RefusedError, match="already exists"):
        _new()


def test_update_run_sets_the_given_fields_only(database_url):
    _new()
    later = T0.astimezone(timezone(timedelta(hours=-5)))
    runs.update_run("abcdef123456", status="running", started_at=later)
    runs.update_run("abcdef123456", status="succeeded", finished_at=T0 + timedelta(seconds=90),
                    result={"metrics": {"roc_auc": 0.91}}, mlflow_run_id="m" * 32, model_name="churn",
                    model_version="3")
    record = runs.get_run("abcdef123456")
    assert record.status == "succeeded"
    assert record.started_at == T0 and record.started_at.tzinfo is timezone.utc
    assert record.finished_at - record.started_at == timedelta(seconds=90)
    assert record.result == {"metrics": {"roc_auc": 0.91}}
    assert (record.mlflow_run_id, record.model_name, record.model_version) == ("m" * 32, "churn", "3")
    runs.update_run("abcdef123456", result=None, error="boom")
    record = runs.get_run("abcdef123456")
    assert record.result is None and record.error == "boom" and record.status == "succeeded"
    assert _count(PipelineRun, PipelineRun.result.is_(None)) == 1


def test_update_run_refuses_unknown_fields_statuses_and_runs(database_url):
    _new()
    with pytest.raises(TypeError, match="not run fields: colour"):
        runs.update_run("abcdef123456", colour="red")
    with pytest.raises(ValueError, match="status must be one of"):
        runs.update_run("abcdef123456", status="done")
    with pytest.raises(NotFoundError, match="cannot update run 'missing00000'"):
        runs.update_run("missing00000", status="failed")


def test_naive_datetimes_are_refused(database_url):
    _new()
    with pytest.raises(StatementError, match="naive datetime"):
        runs.update_run("abcdef123456", started_at=datetime(2026, 1, 1))
    assert runs.get_run("abcdef123456").started_at is None


def test_steps_are_upserted_by_name_and_read_in_position_order(database_url):
    _new()
    runs.save_step("abcdef123456", "split", kind="split", position=1, state="pending")
    runs.save_step("abcdef123456", "ingest", kind="ingest", position=0, state="running", attempts=1,
                   cache_key="c" * 64, started_at=T0)
    runs.save_step("abcdef123456", "ingest", state="succeeded", duration_s=0.5, finished_at=T0,
                   outputs={"frame": {"digest": "1" * 64, "format": "parquet"}}, details={"rows": 10})
    runs.save_step("abcdef123456", "split")
    record = runs.get_run("abcdef123456")
    assert [s.name for s in record.steps] == ["ingest", "split"]
    ingest, split = record.steps
    assert (ingest.kind, ingest.position, ingest.state, ingest.attempts) == ("ingest", 0, "succeeded", 1)
    assert (ingest.cache_key, ingest.cache_hit, ingest.duration_s) == ("c" * 64, False, 0.5)
    assert ingest.started_at == T0 and ingest.outputs["frame"]["format"] == "parquet"
    assert ingest.details == {"rows": 10}
    assert (split.state, split.attempts, split.outputs, split.details, split.error) == ("pending", 0, {}, None, None)
    assert _count(StepRun) == 2


def test_save_step_refuses_unknown_runs_fields_and_incomplete_first_saves(database_url):
    with pytest.raises(NotFoundError, match="no run 'missing00000'"):
        runs.save_step("missing00000", "ingest", kind="ingest", position=0)
    _new()
    with pytest.raises(TypeError, match="must give position"):
        runs.save_step("abcdef123456", "ingest", kind="ingest")
    with pytest.raises(TypeError, match="not step fields: colour"):
        runs.save_step("abcdef123456", "ingest", colour="red")
    with pytest.raises(ValueError, match="state must be one of"):
        runs.save_step("abcdef123456", "ingest", kind="ingest", position=0, state="done")
    assert _count(StepRun) == 0


def test_a_new_runs_steps_are_added_at_once_and_read_as_saved_ones(database_url):
    _new()
    runs.add_steps("abcdef123456", [
        {"name": "split", "kind": "split", "position": 1, "state": "pending"},
        {"name": "ingest", "kind": "ingest", "position": 0, "state": "pending", "cache_key": None,
         "outputs": {}, "details": None, "duration_s": None, "error": None}])
    ingest, split = runs.get_run("abcdef123456").steps
    assert (ingest.name, ingest.state, ingest.attempts, ingest.cache_hit, ingest.outputs) == \
        ("ingest", "pending", 0, False, {})
    assert (split.name, split.position, split.details) == ("split", 1, None)
    runs.save_step("abcdef123456", "split", state="succeeded")
    assert runs.get_run("abcdef123456").steps[1].state == "succeeded"


def test_add_steps_refuses_unknown_runs_fields_and_incomplete_steps_and_adds_nothing(database_url):
    with pytest.raises(NotFoundError, match="no run 'missing00000'"):
        runs.add_steps("missing00000", [{"name": "ingest", "kind": "ingest", "position": 0}])
    _new()
    with pytest.raises(TypeError, match="must give position"):
        runs.add_steps("abcdef123456", [{"name": "ingest", "kind": "ingest"}])
    with pytest.raises(TypeError, match="not step fields: colour"):
        runs.add_steps("abcdef123456", [{"name": "ingest", "kind": "ingest", "position": 0, "colour": "red"}])
    with pytest.raises(ValueError, match="state must be one of"):
        runs.add_steps("abcdef123456", [{"name": "a", "kind": "a", "position": 0},
                                        {"name": "b", "kind": "b", "position": 1, "state": "done"}])
    assert _count(StepRun) == 0


def test_a_unique_prefix_finds_the_run(database_url):
    _new("abcd11000000")
    _new("abcd22000000")
    assert runs.get_run("abcd1").id == "abcd11000000"
    assert runs.get_run("abcd22000000").id == "abcd22000000"


def test_an_ambiguous_prefix_names_the_candidates(database_url):
    _new("abcd11000000")
    _new("abcd22000000")
    with pytest.raises(NotFoundError, match="ambiguous: it matches abcd11000000, abcd22000000") as caught:
        runs.get_run("abcd")
    assert caught.value.headline == "ambiguous run id"


def test_prefixes_are_literal_and_at_least_four_characters(database_url):
    _new("abcd11000000")
    with pytest.raises(NotFoundError, match="at least 4 characters"):
        runs.get_run("abc")
    with pytest.raises(NotFoundError):
        runs.get_run("ab_d")
    with pytest.raises(NotFoundError):
        runs.get_run("abc%")


def test_an_unknown_run_lists_recent_runs_and_the_command_that_lists_all(database_url):
    for i in range(7):
        _new(f"run{i}00000000", pipeline="churn")
    with pytest.raises(NotFoundError) as caught:
        runs.get_run("zzzz9999")
    message = caught.value.message
    assert "there is no run 'zzzz9999'" in message and "`shipyard runs list` shows all runs" in message
    assert "run600000000 (churn, pending)" in message and "run200000000" in message
    assert "run100000000" not in message
    assert database_url.split("@")[-1] in message


def test_an_empty_store_says_so(database_url):
    with pytest.raises(NotFoundError, match="it holds no runs yet"):
        runs.get_run("abcdef")


def test_list_runs_newest_first_by_pipeline_and_limited(database_url):
    _new("r1aaaaaaaaaa", "churn")
    _new("r2aaaaaaaaaa", "other")
    _new("r3aaaaaaaaaa", "churn")
    runs.save_step("r3aaaaaaaaaa", "ingest", kind="ingest", position=0)
    assert [r.id for r in runs.list_runs()] == ["r3aaaaaaaaaa", "r2aaaaaaaaaa", "r1aaaaaaaaaa"]
    assert [r.id for r in runs.list_runs(pipeline="churn")] == ["r3aaaaaaaaaa", "r1aaaaaaaaaa"]
    assert [r.id for r in runs.list_runs(pipeline="churn", limit=1)] == ["r3aaaaaaaaaa"]
    assert runs.list_runs(pipeline="nothing") == []
    assert all(r.steps == [] for r in runs.list_runs())
    with pytest.raises(ValueError):
        runs.list_runs(limit=0)


def test_page_runs_filters_sorts_pages_and_counts(database_url):
    for run_id, pipeline in (("p1aaaaaaaaaa", "churn"), ("p2aaaaaaaaaa", "other"), ("p3aaaaaaaaaa", "churn")):
        _new(run_id, pipeline)
    runs.update_run("p3aaaaaaaaaa", status="failed", model_name="churn", model_version="1")
    page, total = runs.page_runs(limit=2)
    assert [r.id for r in page] == ["p3aaaaaaaaaa", "p2aaaaaaaaaa"] and total == 3
    page, total = runs.page_runs(sort="created_at", descending=False, offset=1, limit=5)
    assert [r.id for r in page] == ["p2aaaaaaaaaa", "p3aaaaaaaaaa"] and total == 3
    assert [r.id for r in runs.page_runs(pipeline="churn", sort="pipeline")[0]] == ["p3aaaaaaaaaa", "p1aaaaaaaaaa"]
    assert runs.page_runs(status="failed")[1] == 1 and runs.page_runs(model="churn")[1] == 1
    assert runs.page_runs(pipeline="nothing") == ([], 0)
    with pytest.raises(ValueError, match="sort must be one of"):
        runs.page_runs(sort="owner")


def test_page_runs_by_team_and_since(database_url):
    for run_id, pipeline in (("t1aaaaaaaaaa", "churn"), ("t2aaaaaaaaaa", "fraud"), ("t3aaaaaaaaaa", "adhoc"),
                             ("t4aaaaaaaaaa", "renamed")):
        _new(run_id, pipeline)
    runs.update_run("t4aaaaaaaaaa", model_name="churn", model_version="2")
    with session_scope() as s:
        s.add_all([ModelOwner(model="churn", team="growth", recorded_at=datetime.now(timezone.utc)),
                   ModelOwner(model="fraud", team="risk", recorded_at=datetime.now(timezone.utc)),
                   RunAdmission(run_id="t3aaaaaaaaaa", team="growth", ticket=1, state="admitted", cpu=1, memory=0,
                                gpus=0, sweep_trials=1, enqueued_at=datetime.now(timezone.utc))])
    page, total = runs.page_runs(team="growth", sort="created_at", descending=False)
    assert [r.id for r in page] == ["t1aaaaaaaaaa", "t3aaaaaaaaaa", "t4aaaaaaaaaa"] and total == 3
    assert runs.page_runs(team="risk")[1] == 1 and runs.page_runs(team="nobody") == ([], 0)
    created = runs.get_run("t1aaaaaaaaaa").created_at
    assert runs.page_runs(since=created - timedelta(minutes=1))[1] == 4
    assert runs.page_runs(team="growth", since=created + timedelta(days=1)) == ([], 0)


def test_latest_run_for_model(database_url):
    _new("old000000000")
    _new("new000000000")
    _new("another00000")
    runs.update_run("old000000000", model_name="churn", model_version="2")
    runs.update_run("new000000000", model_name="churn", model_version="2")
    runs.update_run("another00000", model_name="churn", model_version="3")
    runs.save_step("new000000000", "train", kind="train", position=0)
    record = runs.latest_run_for_model("churn", 2)
    assert record.id == "new000000000" and [s.name for s in record.steps] == ["train"]
    assert runs.latest_run_for_model("churn", "3").id == "another00000"
    assert runs.latest_run_for_model("churn", "4") is None
    assert runs.latest_run_for_model("other", "2") is None


def test_deleting_a_run_deletes_its_steps(database_url):
    _new()
    runs.save_step("abcdef123456", "ingest", kind="ingest", position=0)
    runs.delete_run("abcdef123456")
    assert _count(PipelineRun) == 0 and _count(StepRun) == 0
    with pytest.raises(NotFoundError):
        runs.delete_run("abcdef123456")


def test_operations_can_share_the_callers_transaction(database_url):
    with connection_scope() as connection:
        _new(connection=connection)
        runs.save_step("abcdef123456", "ingest", kind="ingest", position=0, connection=connection)
        runs.record_artifact("a" * 64, "json", 2, {}, connection=connection)
        assert runs.get_run("abcdef123456", connection=connection).steps[0].name == "ingest"
    assert runs.get_run("abcdef123456").steps[0].name == "ingest"
    with pytest.raises(RuntimeError):
        with connection_scope() as connection:
            _new("second000000", connection=connection)
            runs.cache_put("k" * 64, step_kind="train", outputs={}, run_id="second000000", connection=connection)
            raise RuntimeError("abandon")
    assert [r.id for r in runs.list_runs()] == ["abcdef123456"]
    assert runs.cache_get("k" * 64) is None


def test_artifacts_are_recorded_once(database_url):
    assert runs.get_artifact("e" * 64) is None
    runs.record_artifact("e" * 64, "parquet", 10, {"rows": 3})
    first = runs.get_artifact("e" * 64)
    runs.record_artifact("e" * 64, "parquet", 10, {"rows": 99})
    assert runs.get_artifact("e" * 64) == first
    assert (first.format, first.size_bytes, first.meta) == ("parquet", 10, {"rows": 3})
    assert first.created_at.tzinfo is timezone.utc


def test_concurrent_records_of_the_same_artifact_all_succeed(database_url):
    big = 5 * 2**32
    errors = _in_threads(lambda i: runs.record_artifact("e" * 64, "bytes", big, {"writer": i}))
    assert errors == []
    assert runs.get_artifact("e" * 64).size_bytes == big
    assert _count(Artifact) == 1


def test_cache_put_get_and_overwrite(database_url):
    assert runs.cache_get("k" * 64) is None
    runs.cache_put("k" * 64, step_kind="train", outputs={"model": {"digest": "1" * 64}}, run_id="r1",
                   details={"best": {"num_leaves": 8}})
    entry = runs.cache_get("k" * 64)
    assert (entry.step_kind, entry.run_id, entry.details) == ("train", "r1", {"best": {"num_leaves": 8}})
    runs.cache_put("k" * 64, step_kind="train", outputs={"model": {"digest": "2" * 64}}, run_id="r2")
    entry = runs.cache_get("k" * 64)
    assert entry.outputs == {"model": {"digest": "2" * 64}} and entry.run_id == "r2" and entry.details is None
    assert entry.created_at.tzinfo is timezone.utc


def test_concurrent_cache_puts_leave_one_whole_entry(database_url):
    errors = _in_threads(lambda i: runs.cache_put("k" * 64, step_kind="train", outputs={"m": {"digest": str(i)}},
                                                  run_id=f"r{i}"))
    assert errors == []
    entry = runs.cache_get("k" * 64)
    assert entry.outputs["m"]["digest"] == entry.run_id[1:]
    assert _count(CacheEntry) == 1


def test_the_portable_upsert_used_for_other_databases(database_url):
    values = {"cache_key": "p" * 64, "step_kind": "train", "outputs": {"a": 1}, "run_id": "r1", "details": None,
              "created_at": T0}
    for outputs in ({"a": 1}, {"a": 2}):
        with connection_scope() as connection:
            runs._portable_upsert(connection, cache_entries, {**values, "outputs": outputs}, keys=("cache_key",),
                                  replace=("outputs",))
    assert runs.cache_get("p" * 64).outputs == {"a": 2}


def test_runs_are_found_by_the_tracking_their_result_records(database_url):
    for run_id, result in (("aaaa00000001", {"tracking": "pending-sync"}), ("aaaa00000002", {"tracking": "synced"}),
                           ("aaaa00000003", {"metrics": None}), ("aaaa00000004", None),
                           ("aaaa00000005", {"tracking": "pending-sync", "registration": {"model_name": "churn"}})):
        _new(run_id)
        runs.update_run(run_id, status="succeeded", result=result)
    assert [r.id for r in runs.runs_with_tracking("pending-sync")] == ["aaaa00000001", "aaaa00000005"]
    assert [r.id for r in runs.runs_with_tracking("synced")] == ["aaaa00000002"]
    assert runs.runs_with_tracking("other") == []


def test_a_run_whose_process_records_its_end_and_exits_between_the_read_and_the_liveness_check_is_shown_ended(
        database_url, tmp_path):
    go = tmp_path / "go"
    ender = subprocess.Popen([sys.executable, "-c", (
        "import pathlib, time\n"
        "from shipyard.store import runs\n"
        f"while not pathlib.Path({str(go)!r}).exists(): time.sleep(0.01)\n"
        "runs.update_run('abcdef123456', status='succeeded')\n")], env=os.environ.copy())
    _new(owner=f"{socket.gethostname()}:{ender.pid}:ender", lease_s=60)
    runs.update_run("abcdef123456", status="running")
    ended = []

    def the_process_ends_right_after_the_first_read(*_):
        if not ended:
            ended.append(True)
            go.touch()
            ender.wait(timeout=60)

    engine = get_engine()
    event.listen(engine, "after_execute", the_process_ends_right_after_the_first_read)
    try:
        record = runs.get_run("abcdef123456")
    finally:
        event.remove(engine, "after_execute", the_process_ends_right_after_the_first_read)
    assert ended and ender.returncode == 0
    assert (record.status, record.shown_status) == ("succeeded", "succeeded")


def test_a_run_whose_process_is_gone_without_recording_its_end_is_shown_interrupted(database_url):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    _new(owner=f"{socket.gethostname()}:{int(gone.stdout)}:gone", lease_s=60)
    runs.update_run("abcdef123456", status="running")
    record = runs.get_run("abcdef123456")
    assert (record.status, record.shown_status, record.resumable) == ("running", "interrupted", True)
