import pytest

from shipyard.errors import InternalError, StepFailedError
from shipyard.pipeline.dag import StepResources
from shipyard.pipeline.executor import Budget, LocalExecutor

T = "pipeline_test_tasks"
ONE_CPU = StepResources(cpu=1)


def collect(executor, count, limit=200):
    outcomes = []
    for _ in range(limit):
        outcomes += executor.poll(0.1)
        if len(outcomes) >= count:
            return {o.task_id: o for o in outcomes}
    raise AssertionError(f"only {len(outcomes)} of {count} tasks ended")


@pytest.fixture
def executor():
    with LocalExecutor(budget=Budget(cpu=2, memory=0)) as ex:
        yield ex


def test_independent_tasks_overlap_in_time(executor):
    executor.submit("a", f"{T}:interval", {"seconds": 0.4}, resources=ONE_CPU, timeout=None)
    executor.submit("b", f"{T}:interval", {"seconds": 0.4}, resources=ONE_CPU, timeout=None)
    done = collect(executor, 2)
    a, b = done["a"].value, done["b"].value
    assert a["pid"] != b["pid"]
    assert a["start"] < b["end"] and b["start"] < a["end"]


def test_workers_are_reused_between_tasks(executor):
    pids = set()
    for i in range(6):
        executor.submit(f"t{i}", f"{T}:pid", {}, resources=ONE_CPU, timeout=None)
        pids.add(collect(executor, 1)[f"t{i}"].value)
    assert len(pids) <= 2


def test_cpu_budget_limits_concurrency(executor):
    two = StepResources(cpu=2)
    assert executor.fits(two)
    executor.submit("big", f"{T}:interval", {"seconds": 0.2}, resources=two, timeout=None)
    assert not executor.fits(ONE_CPU)
    collect(executor, 1)
    assert executor.fits(two)


def test_request_larger_than_machine_is_clamped_not_starved(executor):
    assert executor.fits(StepResources(cpu=64))


@pytest.mark.parametrize("task, reason", [("segfault", "SIGSEGV"), ("hard_exit", "exit code 3")])
def test_crashing_worker_is_replaced(executor, task, reason):
    executor.submit("crash", f"{T}:{task}", {}, resources=ONE_CPU, timeout=None)
    outcome = collect(executor, 1)["crash"]
    assert outcome.status == "crashed"
    assert isinstance(outcome.error, StepFailedError)
    assert reason in outcome.error.message
    executor.submit("after", f"{T}:pid", {}, resources=ONE_CPU, timeout=None)
    assert collect(executor, 1)["after"].status == "ok"


def test_task_past_its_timeout_is_killed(executor):
    executor.submit("slow", f"{T}:sleep_forever", {}, resources=ONE_CPU, timeout=0.5)
    outcome = collect(executor, 1, limit=100)["slow"]
    assert outcome.status == "timeout"
    assert "timed out after" in outcome.error.message
    assert outcome.duration_s < 5
    executor.submit("next", f"{T}:pid", {}, resources=ONE_CPU, timeout=None)
    assert collect(executor, 1)["next"].status == "ok"


def test_exception_comes_back_with_its_traceback(executor):
    executor.submit("err", f"{T}:raise_value_error", {}, resources=ONE_CPU, timeout=None)
    outcome = collect(executor, 1)["err"]
    assert outcome.status == "error"
    assert isinstance(outcome.error, InternalError)
    assert "boom in user land" in outcome.error.message
    assert "raise_value_error" in outcome.error.message


def test_shutdown_kills_running_tasks():
    executor = LocalExecutor(budget=Budget(cpu=1, memory=0))
    executor.start()
    executor.submit("slow", f"{T}:sleep_forever", {}, resources=ONE_CPU, timeout=None)
    processes = [w.process for w in executor._workers]
    executor.shutdown(kill=True)
    assert all(not p.is_alive() for p in processes)


def test_workers_die_when_their_runner_is_killed(tmp_path):
    """kill -9 of the process that owns the pool leaves no worker behind, busy or idle."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    from shipyard.store.leases import process_exists

    script = tmp_path / "owner.py"
    script.write_text(
        "import time\n"
        "from shipyard.pipeline.dag import StepResources\n"
        "from shipyard.pipeline.executor import Budget, LocalExecutor\n"
        "ex = LocalExecutor(budget=Budget(cpu=3, memory=0))\n"
        "ex.start()\n"
        "ex.submit('busy', 'pipeline_test_tasks:sleep_forever', {}, resources=StepResources(cpu=1), timeout=None)\n"
        "print('ready', flush=True)\n"
        "time.sleep(3600)\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), *sys.path])}
    owner = subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout.readline().strip() == "ready"
        workers = [int(p) for p in subprocess.run(["pgrep", "-P", str(owner.pid)], capture_output=True,
                                                  text=True).stdout.split()]
        assert len(workers) == 3
    finally:
        owner.send_signal(signal.SIGKILL)
        owner.wait()
    deadline = time.monotonic() + 5
    while any(process_exists(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [pid for pid in workers if process_exists(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert left == [], f"workers {left} outlived their runner"


def test_workers_are_forked_only_when_tasks_need_them():
    executor = LocalExecutor(budget=Budget(cpu=3, memory=0))
    try:
        assert executor._workers == [] and executor.fits(ONE_CPU)
        for i in range(3):
            executor.submit(f"t{i}", f"{T}:pid", {}, resources=ONE_CPU, timeout=None)
            collect(executor, 1)
        assert len(executor._workers) == 1
        executor.submit("a", f"{T}:interval", {"seconds": 0.3}, resources=ONE_CPU, timeout=None)
        executor.submit("b", f"{T}:interval", {"seconds": 0.3}, resources=ONE_CPU, timeout=None)
        assert len(executor._workers) == 2
        collect(executor, 2)
    finally:
        executor.shutdown()
