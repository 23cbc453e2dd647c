"""Admission under team quotas: FIFO per team, teams independent, dead runs free their share; SQLite and PostgreSQL."""

import os
import socket
import subprocess
import sys
import textwrap
import time
from datetime import timedelta

import pytest
from sqlalchemy import update

from shipyard.errors import RefusedError
from shipyard.governance import admission
from shipyard.governance.admission import Request
from shipyard.governance.quotas import Quota
from shipyard.store import leases, runs
from shipyard.store.db import session_scope
from shipyard.store.models import PipelineRun, utcnow

ONE_RUN = Quota(runs=1)


def _run(run_id, owner=None, lease_s=60.0):
    runs.create_run(run_id=run_id, pipeline="napper", spec_path=None, spec_text="name: napper", spec_digest="f" * 64,
                    options={}, owner=owner or leases.new_owner(), lease_s=lease_s)
    return run_id


def _ask(run_id, team="fraud", quota=ONE_RUN, **request):
    return admission.ask(run_id, team=team, request=Request(**request), quota=quota)


def _lapse(run_id):
    with session_scope() as s:
        s.execute(update(PipelineRun).where(PipelineRun.id == run_id).values(
            owner="elsewhere.example:4242:0badcafe", lease_expires_at=utcnow() - timedelta(seconds=1)))


def test_over_quota_a_run_waits_first_in_line_then_is_admitted_when_the_first_leaves(database_url):
    assert _ask(_run("first0000000")).admitted
    waiting = _ask(_run("second000000"))
    assert (waiting.admitted, waiting.position) == (False, 1)
    assert waiting.reason == "team fraud is at its quota (1 of 1 runs running)"
    assert waiting.describe() == ("queued: team fraud is at its quota (1 of 1 runs running); "
                                         "position 1 in its queue")
    third = _ask(_run("third0000000"))
    assert (third.admitted, third.position) == (False, 2)
    assert [(e.run_id, e.position) for e in admission.queue()] == [("second000000", 1), ("third0000000", 2)]
    assert admission.positions(["third0000000", "first0000000"]) == {"third0000000": 2}
    admission.leave("first0000000")
    assert not _ask("third0000000").admitted, "the head of the line goes first, whoever asks"
    assert _ask("second000000").admitted
    assert [e.run_id for e in admission.queue(team="fraud")] == ["third0000000"]


def test_a_team_at_its_quota_never_holds_another_team(database_url):
    assert _ask(_run("fraud1000000")).admitted
    assert not _ask(_run("fraud2000000")).admitted
    assert _ask(_run("growth100000"), team="growth").admitted
    assert admission.queue(team="growth") == []


def test_resources_limit_like_runs_and_a_later_small_run_does_not_overtake(database_url):
    quota = Quota(cpu=4, memory=8 * 1024**3, sweep_trials=3)
    assert _ask(_run("big000000000"), quota=quota, cpu=3, memory=1024**3).admitted
    blocked = _ask(_run("wide00000000"), quota=quota, cpu=2)
    assert blocked.reason == "team fraud is at its quota (3 of 4 CPUs in use; this run needs 2)"
    small = _ask(_run("small0000000"), quota=quota, cpu=1)
    assert (small.admitted, small.position) == (False, 2)
    assert small.reason == "1 earlier run of team fraud must start first", "it would fit, but the line is first"
    trials = _ask(_run("sweep0000000"), team="growth", quota=quota, cpu=1, sweep_trials=3)
    assert trials.admitted
    assert _ask(_run("sweep1000000"), team="growth", quota=quota, cpu=1, sweep_trials=1).reason == \
        "team growth is at its quota (3 of 3 sweep trials in use; this run needs 1)"


def test_a_run_that_could_never_fit_is_refused_at_once(database_url):
    with pytest.raises(RefusedError, match="needs 16 CPUs \\(its widest step\\), but team fraud's quota is 8") as no:
        _ask(_run("huge00000000"), quota=Quota(cpu=8), cpu=16)
    assert no.value.headline == "over quota" and "resources.cpu" in no.value.hint
    assert admission.queue() == [] and admission.positions(["huge00000000"]) == {}


def test_an_admitted_run_whose_lease_lapsed_frees_its_share(database_url):
    assert _ask(_run("dies00000000")).admitted
    assert not _ask(_run("waits0000000")).admitted
    _lapse("dies00000000")
    assert _ask("waits0000000").admitted


def test_a_queued_run_whose_process_died_leaves_the_queue(database_url):
    assert _ask(_run("holds0000000")).admitted
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    assert not _ask(_run("ghost0000000", owner=f"{socket.gethostname()}:{dead.pid}:00000000")).admitted
    assert not _ask(_run("alive0000000")).admitted
    assert [(e.run_id, e.position) for e in admission.queue()] == [("alive0000000", 1)]


def test_leaving_the_queue_moves_the_others_up(database_url):
    _ask(_run("holds0000000"))
    _ask(_run("cancel000000"))
    _ask(_run("next00000000"))
    admission.leave("cancel000000")
    assert _ask("next00000000").position == 1


RACER = textwrap.dedent("""\
    import sys, time
    from shipyard.governance import admission
    from shipyard.governance.admission import Request
    from shipyard.governance.quotas import Quota
    from shipyard.store import leases, runs

    run_id, start_at = sys.argv[1], float(sys.argv[2])
    runs.create_run(run_id=run_id, pipeline="napper", spec_path=None, spec_text="name: napper",
                    spec_digest="f" * 64, options={}, owner=leases.new_owner(), lease_s=60)
    time.sleep(max(0.0, start_at - time.time()))
    decision = admission.ask(run_id, team="fraud", request=Request(), quota=Quota(runs=2))
    print("admitted" if decision.admitted else f"queued {decision.position}", flush=True)
    sys.stdin.readline()  # stay alive (holding the lease) until every racer has asked
""")


def test_processes_racing_for_the_last_slot_admit_exactly_one(database_url):
    assert _ask(_run("holder000000"), quota=Quota(runs=2)).admitted  # the team's queue exists; one slot is left
    racers = 6
    start_at = time.time() + 4.0
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    processes = [subprocess.Popen([sys.executable, "-c", RACER, f"racer{i}000000", str(start_at)], env=env,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for i in range(racers)]
    try:
        answers = sorted(p.stdout.readline().strip() for p in processes)
    finally:
        for p in processes:
            p.communicate("\n", timeout=60)
    assert [p.returncode for p in processes] == [0] * racers, [p.stderr for p in processes]
    assert answers == ["admitted", "queued 1", "queued 2", "queued 3", "queued 4", "queued 5"]


def test_usage_counts_what_live_admitted_runs_hold_and_the_live_queue(database_url):
    quota = Quota(runs=2)
    assert _ask(_run("held10000000"), quota=quota, cpu=2, gpus=1, memory=1024).admitted
    assert _ask(_run("held20000000"), quota=quota, cpu=0.5, sweep_trials=3).admitted
    assert not _ask(_run("wait10000000"), quota=quota).admitted
    assert _ask(_run("other0000000"), team="risk", quota=quota, cpu=8).admitted
    now = admission.usage("fraud")
    assert (now.runs, now.queued) == (2, 1)
    assert now.held == Request(cpu=2.5, memory=1024, gpus=1, sweep_trials=3)
    _lapse("held10000000")
    _lapse("wait10000000")
    assert admission.usage("fraud") == admission.Usage(runs=1, held=Request(cpu=0.5, sweep_trials=3), queued=0)
    assert admission.usage("nobody") == admission.Usage(runs=0, held=Request(), queued=0)
