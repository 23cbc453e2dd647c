"""Checkpoints of a step: saved and loaded by run and step, tied to the step's inputs, and how SIGTERM stops a step."""

import os
import signal
import textwrap

import pytest

from shipyard.errors import BackendError, PreemptedError, UsageError
from shipyard.pipeline import checkpoint
from shipyard.pipeline.artifacts import LocalArtifactStore
from shipyard.pipeline.checkpoint import Checkpoints
from shipyard.pipeline.dag import Dag, StepNode
from shipyard.pipeline.runner import RunOptions, Runner, RunPlan


@pytest.fixture
def store(tmp_path):
    checkpoint.reset()
    yield LocalArtifactStore(tmp_path / "artifacts")
    checkpoint.reset()


def test_a_checkpoint_round_trips_by_run_and_step(store):
    first = Checkpoints(store=store, run_id="r1", step="train", fingerprint=lambda: "k1")
    assert first.load() is None
    first.save({"epoch": 3, "loss": [0.5, 0.25]}, progress=3)
    first.save({"epoch": 4, "loss": [0.5, 0.25, 0.2]}, progress=4)
    saved = first.load()
    assert (saved.state, saved.progress) == ({"epoch": 4, "loss": [0.5, 0.25, 0.2]}, 4)
    assert Checkpoints(store=store, run_id="r2", step="train", fingerprint=lambda: "k1").load() is None
    assert Checkpoints(store=store, run_id="r1", step="other", fingerprint=lambda: "k1").load() is None
    first.save(b"\x00raw booster bytes")
    assert first.load().state == b"\x00raw booster bytes"
    first.clear()
    assert first.load() is None
    assert not (store.root / "keyed" / "checkpoints" / "r1").exists()


def test_a_checkpoint_of_other_inputs_is_ignored(store):
    Checkpoints(store=store, run_id="r1", step="train", fingerprint=lambda: "before").save({"epoch": 9})
    assert Checkpoints(store=store, run_id="r1", step="train", fingerprint=lambda: "after").load() is None


def test_a_damaged_checkpoint_is_a_clear_error(store):
    checkpoints = Checkpoints(store=store, run_id="r1", step="train")
    checkpoints.save({"epoch": 1})
    path = store.keyed_path(checkpoints.key)
    path.write_bytes(path.read_bytes()[:-2] + b"99")
    with pytest.raises(BackendError, match="checkpoint of step 'train' in run r1 is damaged") as raised:
        checkpoints.load()
    assert "delete that file" in raised.value.hint


def test_state_that_cannot_be_stored_is_a_clear_error(store):
    with pytest.raises(UsageError, match="checkpoint state \\(generator\\) cannot be stored"):
        Checkpoints(store=store, run_id="r1", step="train").save(x for x in ())


def test_the_module_functions_need_a_running_step(store):
    with pytest.raises(UsageError, match="only inside a pipeline step"):
        checkpoint.load()
    with checkpoint.activate(Checkpoints(store=store, run_id="r1", step="s")):
        assert checkpoint.load() is None
        checkpoint.save([1, 2])
        assert checkpoint.load() == [1, 2]


def test_save_after_sigterm_writes_then_raises_preempted(store):
    checkpoint.stop_on_sigterm()
    try:
        with checkpoint.activate(Checkpoints(store=store, run_id="r1", step="s")):
            assert not checkpoint.preempted()
            os.kill(os.getpid(), signal.SIGTERM)
            assert checkpoint.preempted()
            with pytest.raises(PreemptedError, match="step 's' was told to stop \\(SIGTERM\\)") as raised:
                checkpoint.save({"i": 7}, progress=7)
            assert checkpoint.load() == {"i": 7}
            assert raised.value.exit_code == 130
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def test_artifact_store_keys_cannot_leave_the_store(store):
    for bad in ("../x", "a/../../b", "/abs", "a b", ""):
        with pytest.raises(ValueError, match="is not a blob key"):
            store.keyed_path(bad)


USER_STEPS = textwrap.dedent('''
    import os, signal
    from shipyard import checkpoint

    def count(to):
        state = checkpoint.load() or {"i": 0, "starts": 0}
        state["starts"] += 1
        for i in range(state["i"], to):
            state["i"] = i + 1
            if i == 3 and state["starts"] == 1:
                os.kill(os.getpid(), signal.SIGTERM)  # as a spot machine being reclaimed would
            checkpoint.save(state, progress=i + 1)
        return state
''')


def test_a_user_step_preempted_in_its_worker_runs_again_from_its_checkpoint(tmp_path, monkeypatch, shipyard_home):
    from shipyard.store import runs as store

    (tmp_path / "ckpt_user_steps.py").write_text(USER_STEPS)
    monkeypatch.syspath_prepend(str(tmp_path))
    node = StepNode(name="count", kind="user", impl="ckpt_user_steps:count", params={"to": 6}, user_code=True)
    plan = RunPlan(dag=Dag((node,)), pipeline="t", base_dir=tmp_path)
    result = Runner(plan, options=RunOptions(backoff_s=0.05)).run()
    assert result.status == "succeeded", result.error
    step = store.get_run(result.run_id).steps[0]
    assert step.attempts == 1  # retries: 0, yet the preempted attempt did not use it up
    from shipyard.config import load_settings
    from shipyard.pipeline.artifacts import open_artifact_store
    from shipyard.pipeline.serialization import load_value

    assert load_value(open_artifact_store(load_settings()), step.outputs["result"]) == {"i": 6, "starts": 2}
    assert not (shipyard_home / "artifacts" / "keyed" / "checkpoints" / result.run_id).exists()
