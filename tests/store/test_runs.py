"""Repository functions for runs, steps, artifacts and the cache, on SQLite and PostgreSQL."""

import threading

import pytest

from shipyard.errors import NotFoundError
from shipyard.store import runs


def _new(run_id="abcdef123456", pipeline="churn"):
    runs.create_run(run_id=run_id, pipeline=pipeline, spec_path="/x/pipeline.yaml", spec_text="name: churn",
                    spec_digest="f" * 64, options={"no_cache": False})


def test_create_update_and_read_a_run_with_steps(database_url):
    _new()
    runs.update_run("abcdef123456", status="running")
    runs.save_step("abcdef123456", "ingest", kind="ingest", position=0, state="running", attempts=1)
    runs.save_step("abcdef123456", "split", kind="split", position=1, state="pending")
    runs.save_step("abcdef123456", "ingest", state="succeeded", duration_s=0.5,
                   outputs={"frame": {"digest": "1" * 64, "format": "parquet"}})
    record = runs.get_run("abcdef123456")
    assert record.status == "running"
    assert [s.name for s in record.steps] == ["ingest", "split"]
    assert record.steps[0].state == "succeeded" and record.steps[0].attempts == 1
    assert record.steps[0].outputs["frame"]["format"] == "parquet"


def test_prefix_lookup_ambiguity_and_not_found(database_url):
    _new("abcd11000000")
    _new("abcd22000000")
    assert runs.get_run("abcd1").id == "abcd11000000"
    with pytest.raises(NotFoundError, match="ambiguous: it matches abcd1"):
        runs.get_run("abcd")
    with pytest.raises(NotFoundError, match="there is no run 'abc'"):
        runs.get_run("abc")  # shorter than a usable prefix
    with pytest.raises(NotFoundError) as caught:
        runs.get_run("zzzz9999")
    assert "abcd22000000" in caught.value.hint and "shipyard runs list" in caught.value.hint


def test_list_runs_newest_first_and_by_pipeline(database_url):
    _new("r1aaaaaaaaaa", "churn")
    _new("r2aaaaaaaaaa", "other")
    _new("r3aaaaaaaaaa", "churn")
    assert [r.id for r in runs.list_runs()] == ["r3aaaaaaaaaa", "r2aaaaaaaaaa", "r1aaaaaaaaaa"]
    assert [r.id for r in runs.list_runs(pipeline="churn", limit=1)] == ["r3aaaaaaaaaa"]


def test_update_of_an_unknown_run(database_url):
    with pytest.raises(NotFoundError):
        runs.update_run("missing00000", status="failed")


def test_cache_put_get_and_overwrite(database_url):
    assert runs.cache_get("k" * 64) is None
    runs.cache_put("k" * 64, step_kind="train", outputs={"model": {"digest": "1" * 64}}, run_id="r1")
    runs.cache_put("k" * 64, step_kind="train", outputs={"model": {"digest": "2" * 64}}, run_id="r2")
    entry = runs.cache_get("k" * 64)
    assert entry.outputs["model"]["digest"] == "2" * 64 and entry.run_id == "r2"


def test_artifact_recording_is_idempotent_under_concurrency(database_url):
    errors = []

    def record():
        try:
            runs.record_artifact("e" * 64, "json", 10, {"k": 1})
        except Exception as exc:  # collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=record) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert runs.get_artifact("e" * 64).size_bytes == 10
    assert runs.get_artifact("0" * 64) is None
