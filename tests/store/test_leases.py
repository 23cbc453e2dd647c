"""One owner per run: taking, renewing and giving up a run's lease, on SQLite and PostgreSQL."""

import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import update

from shipyard.errors import RefusedError
from shipyard.store import leases, runs
from shipyard.store.db import session_scope
from shipyard.store.models import PipelineRun, utcnow

ELSEWHERE = "another-host.example:4242:0badcafe"


def _new(run_id="abcdef123456", **kwargs):
    runs.create_run(run_id=run_id, pipeline="churn", spec_path=None, spec_text="name: churn", spec_digest="f" * 64,
                    options={}, **kwargs)
    runs.update_run(run_id, status="running")


def _set_lease(run_id, owner, expires_in_s):
    with session_scope() as s:
        s.execute(update(PipelineRun).where(PipelineRun.id == run_id).values(
            owner=owner, heartbeat_at=utcnow(), lease_expires_at=utcnow() + timedelta(seconds=expires_in_s)))


def _dead_local_pid():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_new_run_is_held_by_its_creator(database_url):
    _new(owner="me:1:aa", lease_s=30)
    record = runs.get_run("abcdef123456")
    assert record.owner == "me:1:aa"
    assert timedelta(seconds=25) < record.lease_expires_at - utcnow() <= timedelta(seconds=30)


def test_a_live_owner_elsewhere_keeps_the_run(database_url):
    _new(owner=ELSEWHERE, lease_s=60)
    before = runs.get_run("abcdef123456")
    assert before.shown_status == "running" and not before.resumable
    with pytest.raises(RefusedError) as caught:
        leases.acquire("abcdef123456", "me:1:aa", lease_s=30)
    assert caught.value.headline == "run is still running"
    assert "process 4242 on another-host.example" in caught.value.message
    assert "shipyard run --resume abcdef123456" in caught.value.hint
    assert runs.get_run("abcdef123456") == before


def test_an_expired_lease_can_be_taken_over(database_url):
    _new(owner=ELSEWHERE, lease_s=60)
    _set_lease("abcdef123456", ELSEWHERE, -1)
    record = runs.get_run("abcdef123456")
    assert record.shown_status == "interrupted" and record.resumable
    leases.acquire("abcdef123456", "me:1:aa", lease_s=30)
    assert runs.get_run("abcdef123456").owner == "me:1:aa"
    assert not leases.renew("abcdef123456", ELSEWHERE, lease_s=30), "the old owner learns it lost the run"
    assert leases.renew("abcdef123456", "me:1:aa", lease_s=30)


def test_an_owner_process_gone_from_this_host_frees_the_run_at_once(database_url):
    import socket

    dead = f"{socket.gethostname()}:{_dead_local_pid()}:00000000"
    _new(owner=dead, lease_s=600)
    assert runs.get_run("abcdef123456").shown_status == "interrupted"
    leases.acquire("abcdef123456", "me:1:aa", lease_s=30)
    assert runs.get_run("abcdef123456").owner == "me:1:aa"


def test_release_writes_the_final_status_only_for_the_owner(database_url):
    _new(owner="me:1:aa", lease_s=30)
    assert not leases.release("abcdef123456", "someone:2:bb", status="failed")
    assert runs.get_run("abcdef123456").status == "running"
    assert leases.release("abcdef123456", "me:1:aa", status="succeeded")
    record = runs.get_run("abcdef123456")
    assert (record.status, record.owner, record.lease_expires_at) == ("succeeded", None, None)
    assert record.shown_status == "succeeded"


def test_only_one_of_two_takers_of_a_lapsed_lease_wins(database_url):
    _new(owner=ELSEWHERE, lease_s=60)
    _set_lease("abcdef123456", ELSEWHERE, -1)
    leases.acquire("abcdef123456", "first:1:aa", lease_s=30)
    with pytest.raises(RefusedError):
        leases.acquire("abcdef123456", "second:2:bb", lease_s=30)
    assert runs.get_run("abcdef123456").owner == "first:1:aa"
