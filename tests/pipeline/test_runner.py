"""The runner on hand-built DAGs: shapes, caching, retries, timeouts, failures, resume."""

import io
import sys
import textwrap
from pathlib import Path

import pytest

from shipyard.pipeline import cache
from shipyard.pipeline.dag import Dag, StepNode
from shipyard.pipeline.progress import LineReporter
from shipyard.pipeline.runner import RunOptions, Runner, RunPlan
from shipyard.store import runs as store

STEPS = textwrap.dedent('''
    import os, time
    from pathlib import Path

    def const(value=1):
        return value

    def add(a, b):
        return a + b

    def double(x):
        return 2 * x

    def total(**parts):
        return sum(parts.values())

    def crash_until(x, marker, failures):
        path = Path(marker)
        count = int(path.read_text()) if path.exists() else 0
        path.write_text(str(count + 1))
        if count < failures:
            os._exit(1)
        return x + 100

    def fail_unless(x, flag):
        if not Path(flag).exists():
            raise RuntimeError("flag file missing")
        return x + 1000

    def nap(x, seconds, started=None):
        if started:
            Path(started).touch()
        time.sleep(seconds)
        return x

    def counted(x, counter):
        path = Path(counter)
        path.write_text(str(int(path.read_text()) + 1 if path.exists() else 1))
        return x
''')


@pytest.fixture
def steps_module(tmp_path, monkeypatch, shipyard_home):
    folder = tmp_path / "code"
    folder.mkdir()
    (folder / "dag_steps.py").write_text(STEPS)
    monkeypatch.syspath_prepend(str(folder))
    return folder


def node(name, fn, inputs=None, **kw):
    return StepNode(name=name, kind="user", impl=f"dag_steps:{fn}", inputs=inputs or {}, user_code=True, **kw)


def run(nodes, folder, **options):
    plan = RunPlan(dag=Dag(tuple(nodes)), pipeline="t", base_dir=folder)
    run_id = options.pop("run_id", None)
    return Runner(plan, options=RunOptions(backoff_s=0.05, **options), run_id=run_id).run()


def value_of(result, step, folder):
    from shipyard.config import load_settings
    from shipyard.pipeline.artifacts import open_artifact_store

    import json

    return json.loads(open_artifact_store(load_settings()).get(result.step(step).outputs["result"]))


SHAPES = {
    "linear": ([node("a", "const", params={"value": 3}), node("b", "double", {"x": "a.result"}),
                node("c", "double", {"x": "b.result"})], "c", 12),
    "diamond": ([node("a", "const", params={"value": 2}), node("l", "double", {"x": "a.result"}),
                 node("r", "double", {"x": "a.result"}), node("j", "add", {"a": "l.result", "b": "r.result"})],
                "j", 8),
    "fan_in": ([node(f"p{i}", "const", params={"value": i}) for i in range(5)]
               + [node("sum", "total", {f"v{i}": f"p{i}.result" for i in range(5)})], "sum", 10),
    "independent": ([node("x", "const", params={"value": 5}), node("y", "const", params={"value": 7})], "y", 7),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_dag_shapes_compute_and_then_hit_the_cache(shape, steps_module):
    nodes, last, expected = SHAPES[shape]
    first = run(nodes, steps_module)
    assert first.status == "succeeded", first.error
    assert value_of(first, last, steps_module) == expected
    assert first.cache_hits == 0
    second = run(nodes, steps_module)
    assert second.status == "succeeded"
    assert second.cache_hits == len(nodes)
    assert [s.outputs for s in second.steps] == [s.outputs for s in first.steps]


def test_cache_hits_found_in_one_pass_are_all_recorded_before_a_step_runs(steps_module):
    chain = [node("a", "const"), node("b", "double", {"x": "a.result"}), node("c", "double", {"x": "b.result"})]
    run(chain, steps_module)
    chain[2] = node("c", "add", {"a": "a.result", "b": "b.result"})
    result = run(chain, steps_module)
    assert [s.cache_hit for s in result.steps] == [True, True, False]
    recorded = store.get_run(result.run_id)
    assert {s.name: (s.state, s.cache_hit) for s in recorded.steps} == {
        "a": ("cached", True), "b": ("cached", True), "c": ("succeeded", False)}
    assert {s.name: s.outputs["result"]["digest"] for s in recorded.steps} == \
        {s.name: s.outputs["result"] for s in result.steps}


def test_changed_parameter_reruns_only_what_depends_on_it(steps_module):
    nodes = [node("a", "const", params={"value": 1}), node("b", "const", params={"value": 10}),
             node("s", "add", {"a": "a.result", "b": "b.result"})]
    run(nodes, steps_module)
    nodes[1] = node("b", "const", params={"value": 20})
    result = run(nodes, steps_module)
    assert [s.cache_hit for s in result.steps] == [True, False, False]
    assert value_of(result, "s", steps_module) == 21


def test_changed_user_code_invalidates_the_cache(steps_module):
    nodes = [node("a", "const", params={"value": 4}), node("b", "double", {"x": "a.result"})]
    run(nodes, steps_module)
    module = steps_module / "dag_steps.py"
    # a new size too: an edit in the same second as the first import would otherwise load its stale bytecode
    module.write_text(module.read_text().replace("return 2 * x", "return 2 * x + 4"))
    cache.module_source_digest.cache_clear()
    sys.modules.pop("dag_steps", None)
    result = run(nodes, steps_module)
    assert value_of(result, "b", steps_module) == 12
    assert not result.step("b").cache_hit


def test_no_cache_and_from_step(steps_module, tmp_path):
    counter = str(tmp_path / "count")
    nodes = [node("a", "const"), node("b", "counted", {"x": "a.result"}, params={"counter": counter}),
             node("c", "double", {"x": "b.result"})]
    run(nodes, steps_module)
    partial = run(nodes, steps_module, from_step="b")
    assert [s.cache_hit for s in partial.steps] == [True, False, False]
    full = run(nodes, steps_module, no_cache=True)
    assert full.cache_hits == 0
    assert (tmp_path / "count").read_text() == "3"


def test_crashing_step_is_retried_until_it_succeeds(steps_module, tmp_path):
    marker = str(tmp_path / "crashes")
    nodes = [node("a", "const"), node("b", "crash_until", {"x": "a.result"},
                                       params={"marker": marker, "failures": 2}, retries=2)]
    result = run(nodes, steps_module)
    assert result.status == "succeeded", result.error
    assert result.step("b").attempts == 3
    assert value_of(result, "b", steps_module) == 101


def test_retries_exhausted_fails_the_run_and_names_the_step(steps_module, tmp_path):
    marker = str(tmp_path / "crashes")
    nodes = [node("a", "const"), node("b", "crash_until", {"x": "a.result"},
                                       params={"marker": marker, "failures": 5}, retries=1),
             node("c", "double", {"x": "b.result"})]
    result = run(nodes, steps_module)
    assert result.status == "failed"
    assert result.step("b").attempts == 2
    assert result.step("c").state == "skipped"
    assert "step 'b'" in result.error and "worker process died" in result.error
    assert result.resume_command == f"shipyard run --resume {result.run_id}"


def test_timeout_kills_the_step(steps_module):
    nodes = [node("a", "const"), node("b", "nap", {"x": "a.result"}, params={"seconds": 60}, timeout=0.5)]
    result = run(nodes, steps_module)
    assert result.status == "failed"
    assert "timed out" in result.error
    assert result.duration_s < 20


def test_failed_run_resumes_from_last_completed_step(steps_module, tmp_path):
    counter, flag = str(tmp_path / "count"), tmp_path / "flag"
    nodes = [node("a", "const"), node("b", "counted", {"x": "a.result"}, params={"counter": counter}),
             node("c", "fail_unless", {"x": "b.result"}, params={"flag": str(flag)})]
    failed = run(nodes, steps_module, no_cache=True)
    assert failed.status == "failed"
    assert "flag file missing" in failed.error
    flag.write_text("ok")
    resumed = run(nodes, steps_module, no_cache=True, run_id=failed.run_id)
    assert resumed.status == "succeeded", resumed.error
    assert resumed.run_id == failed.run_id
    assert (tmp_path / "count").read_text() == "1"
    assert value_of(resumed, "c", steps_module) == 1001
    record = store.get_run(failed.run_id)
    assert record.status == "succeeded"
    assert [s.state for s in record.steps] == ["succeeded", "succeeded", "succeeded"]


def test_one_failing_branch_lets_running_siblings_finish(steps_module, tmp_path):
    nodes = [node("slow", "nap", {"x": "a.result"}, params={"seconds": 0.5}), node("a", "const"),
             node("bad", "fail_unless", {"x": "a.result"}, params={"flag": str(tmp_path / "none")})]
    result = run(nodes, steps_module)
    assert result.status == "failed"
    assert result.step("slow").state == "succeeded"


def test_run_record_lists_steps_in_order(steps_module):
    nodes, _, _ = SHAPES["linear"]
    result = run(nodes, steps_module)
    record = store.get_run(result.run_id)
    assert [s.name for s in record.steps] == ["a", "b", "c"]
    assert all(s.outputs for s in record.steps)


@pytest.mark.parametrize("gpu, asked", [(1, "1 GPU (resources.gpu)"), (0.25, "0.25 GPUs (250 milli-GPU share)")])
def test_a_step_needing_a_gpu_is_refused_before_anything_runs(steps_module, gpu, asked):
    from shipyard.errors import RefusedError
    from shipyard.pipeline.dag import StepResources

    nodes = [node("a", "const"), node("b", "double", inputs={"x": "a.result"}, resources=StepResources(gpu=gpu))]
    with pytest.raises(RefusedError) as raised:
        run(nodes, steps_module)
    assert raised.value.exit_code == 6
    assert f"step 'b' asks for {asked}" in raised.value.message
    assert "run the pipeline on an executor with GPUs, or drop resources.gpu" in raised.value.hint
    assert store.list_runs() == []


def _hold(run_id, owner, expires_in_s):
    from datetime import timedelta

    from sqlalchemy import update

    from shipyard.store.db import session_scope
    from shipyard.store.models import PipelineRun, utcnow

    with session_scope() as s:
        s.execute(update(PipelineRun).where(PipelineRun.id == run_id).values(
            status="running", owner=owner, heartbeat_at=utcnow(),
            lease_expires_at=utcnow() + timedelta(seconds=expires_in_s)))


def test_a_run_still_owned_by_a_live_process_is_not_resumed(steps_module, tmp_path):
    from shipyard.errors import RefusedError

    counter, flag = str(tmp_path / "count"), tmp_path / "flag"
    nodes = [node("a", "const"), node("b", "counted", {"x": "a.result"}, params={"counter": counter}),
             node("c", "fail_unless", {"x": "b.result"}, params={"flag": str(flag)})]
    failed = run(nodes, steps_module)
    flag.write_text("ok")
    _hold(failed.run_id, "elsewhere.example:77:cafe0000", 60)
    before = store.get_run(failed.run_id)
    with pytest.raises(RefusedError, match="still running"):
        run(nodes, steps_module, run_id=failed.run_id)
    assert store.get_run(failed.run_id) == before

    _hold(failed.run_id, "elsewhere.example:77:cafe0000", -1)
    resumed = run(nodes, steps_module, run_id=failed.run_id)
    assert resumed.status == "succeeded", resumed.error
    assert (tmp_path / "count").read_text() == "1"
    record = store.get_run(failed.run_id)
    assert (record.status, record.owner) == ("succeeded", None)


def _once_started(flag: Path, timeout_s: float = 120) -> str:
    """The newest run's id, once its napping step has touched ``flag``. Waiting on a file, not on the store, keeps
    this thread off the database while the runner forks its workers (a fork copies whatever lock it holds)."""
    import time

    deadline = time.monotonic() + timeout_s
    while not flag.exists():
        if time.monotonic() > deadline:
            raise AssertionError(f"the napping step did not start within {timeout_s}s")
        time.sleep(0.05)
    return store.list_runs(limit=1)[0].id


def test_the_runner_renews_its_lease_while_a_step_runs(steps_module, monkeypatch, tmp_path):
    import threading
    import time

    from shipyard.errors import RefusedError
    from shipyard.store import leases

    monkeypatch.setenv("SHIPYARD_RUN_LEASE_S", "1")
    refusals = []

    def try_to_take_over():
        run_id = _once_started(tmp_path / "b-started")
        time.sleep(2.5)  # an unrenewed lease would have run out twice over
        try:
            leases.acquire(run_id, "thief.example:1:00000000", lease_s=30)
        except RefusedError as exc:
            refusals.append(exc)

    thief = threading.Thread(target=try_to_take_over)
    thief.start()
    result = run([node("a", "const"), node("b", "nap", {"x": "a.result"},
                                           params={"seconds": 6, "started": str(tmp_path / "b-started")})],
                 steps_module)
    thief.join()
    assert result.status == "succeeded", result.error
    assert len(refusals) == 1


def test_a_runner_whose_run_was_taken_over_stops_and_writes_nothing(steps_module, monkeypatch, tmp_path):
    import threading

    monkeypatch.setenv("SHIPYARD_RUN_LEASE_S", "1")

    def take_over():
        _hold(_once_started(tmp_path / "b-started"), "thief.example:1:00000000", 60)

    thief = threading.Thread(target=take_over)
    thief.start()
    result = run([node("a", "const"), node("b", "nap", {"x": "a.result"},
                                           params={"seconds": 5, "started": str(tmp_path / "b-started")})],
                 steps_module)
    thief.join()
    assert result.status == "failed"
    assert "taken over" in result.error
    record = store.get_run(result.run_id)
    assert (record.status, record.owner) == ("running", "thief.example:1:00000000")
    assert {s.name: s.state for s in record.steps}["b"] == "running"


def test_resume_reruns_completed_steps_whose_cache_key_changed(steps_module, tmp_path):
    counter, flag = str(tmp_path / "count"), tmp_path / "flag"

    def nodes(value):
        return [node("a", "const", params={"value": value}),
                node("b", "counted", {"x": "a.result"}, params={"counter": counter}),
                node("c", "fail_unless", {"x": "b.result"}, params={"flag": str(flag)})]

    failed = run(nodes(1), steps_module, no_cache=True)
    flag.write_text("ok")
    shown = io.StringIO()
    plan = RunPlan(dag=Dag(tuple(nodes(5))), pipeline="t", base_dir=steps_module)
    resumed = Runner(plan, options=RunOptions(no_cache=True), run_id=failed.run_id,
                     reporter=LineReporter(shown)).run()
    assert resumed.status == "succeeded", resumed.error
    for step in ("a", "b"):
        assert f"  {step}: pending — completed before, but it or its inputs changed since: runs again" \
            in shown.getvalue()
    assert (tmp_path / "count").read_text() == "2", "b ran again: its input changed"
    assert value_of(resumed, "c", steps_module) == 1005
    assert resumed.step("a").attempts == 1 and resumed.step("b").attempts == 1


class _ClosedPipeReporter(LineReporter):
    """Prints like the CLI until the reader of the pipe goes away."""

    def __init__(self, lines_before_closing):
        super().__init__(io.StringIO())
        self.left = lines_before_closing

    def update(self, step):
        self.left -= 1
        if self.left < 0:
            raise BrokenPipeError(32, "Broken pipe")
        super().update(step)


def test_an_unexpected_failure_of_the_runner_still_records_how_the_run_ended(steps_module):
    plan = RunPlan(dag=Dag((node("a", "const"), node("b", "double", {"x": "a.result"}))), pipeline="t",
                   base_dir=steps_module)
    runner = Runner(plan, options=RunOptions(backoff_s=0.05), reporter=_ClosedPipeReporter(1))
    with pytest.raises(BrokenPipeError):
        runner.run()
    record = store.get_run(runner.run_id)
    assert record.status == "failed"
    assert "the runner itself failed (BrokenPipeError" in record.error
    assert record.owner is None


def test_a_run_records_its_team_model_and_each_steps_resources_for_cost(steps_module):
    from shipyard.pipeline.dag import StepResources

    nodes = (node("a", "const", resources=StepResources(cpu=2.0, memory=1024)),
             node("b", "double", {"x": "a.result"}, resources=StepResources(cpu=0.5)))
    plan = RunPlan(dag=Dag(nodes), pipeline="t", base_dir=steps_module, team="fraud", model="scoring")
    result = Runner(plan, options=RunOptions(backoff_s=0.05)).run()
    assert result.status == "succeeded", result.error
    options = store.get_run(result.run_id).options
    assert (options["team"], options["model"]) == ("fraud", "scoring")
    assert options["resources"] == {"a": {"cpu": 2.0, "memory": 1024, "gpu": 0},
                                    "b": {"cpu": 0.5, "memory": 0, "gpu": 0}}
