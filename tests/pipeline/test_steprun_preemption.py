"""SIGTERM to a real `shipyard step run` training a booster: a checkpointed preemption, resumed by the next
`step run` of the step (its pod rescheduled, or Airflow's retry of the task)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shipyard.store import runs as store

from churn_project import churn_spec, write_churn_project

ROOT = Path(__file__).resolve().parents[2]
ROUNDS, EVERY = 600, 20
pytestmark = pytest.mark.slow

MODEL = f"{{flavor: xgboost, estimator: XGBClassifier, params: {{n_estimators: {ROUNDS}, max_depth: 4}}}}"


@pytest.fixture
def project(tmp_path, shipyard_home):
    pytest.importorskip("xgboost")
    spec = write_churn_project(tmp_path, churn_spec("boosted_steps", MODEL, "resources: {cpu: 1}\n"), rows=6000, seed=5)
    env = {**os.environ, "SHIPYARD_HOME": str(shipyard_home), "SHIPYARD_CHECKPOINT_EVERY": str(EVERY),
           "SHIPYARD_PREEMPTION_GRACE_S": "60",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    return spec, shipyard_home, env


def _shipyard(env, *args):
    return subprocess.run([sys.executable, "-m", "shipyard", *args], env=env, capture_output=True, text=True,
                          timeout=600)


def _checkpoint_progress(home: Path, run_id: str) -> int | None:
    path = home / "artifacts" / "keyed" / "checkpoints" / run_id / "train"
    try:
        return json.loads(path.read_bytes().partition(b"\n")[0])["progress"]
    except (OSError, ValueError):
        return None


def _wait_for_checkpoint(home: Path, run_id: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if (_checkpoint_progress(home, run_id) or 0) >= EVERY:
            return
        assert proc.poll() is None, f"the step ended before a checkpoint: {proc.communicate()}"
        time.sleep(0.02)
    raise AssertionError("no checkpoint within 300s")


def _step(run_id: str, name: str):
    return next(step for step in store.get_run(run_id).steps if step.name == name)


def test_sigterm_to_step_run_is_a_checkpointed_preemption_that_the_next_step_run_resumes(project):
    spec, home, env = project
    created = _shipyard(env, "runs", "create", str(spec))
    assert created.returncode == 0, created.stderr
    run_id = created.stdout.strip()
    steps = [step.name for step in store.get_run(run_id).steps]
    for name in steps[:steps.index("train")]:
        done = _shipyard(env, "step", "run", run_id, name, "--once")
        assert done.returncode == 0, done.stderr

    proc = subprocess.Popen([sys.executable, "-m", "shipyard", "step", "run", run_id, "train", "--once"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_checkpoint(home, run_id, proc)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "preempted" in err and f"shipyard step run {run_id} train" in err and "Traceback" not in err
    stopped_at = _checkpoint_progress(home, run_id)
    assert EVERY <= stopped_at < ROUNDS
    stopped = _step(run_id, "train")
    assert stopped.state == "cancelled" and "told to stop (SIGTERM)" in stopped.error
    assert stopped.attempts == 0, "a preempted attempt is not counted"

    resumed = _shipyard(env, "step", "run", run_id, "train", "--once", "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["attempts"] == 1
    train = _step(run_id, "train")
    assert train.state == "succeeded" and train.error is None
    assert (train.details["resumed_from_round"], train.details["boosting_rounds"]) == (stopped_at, ROUNDS)
    assert _checkpoint_progress(home, run_id) is None, "a finished step leaves no checkpoint behind"

    unbroken = _shipyard(env, "run", str(spec), "--no-cache", "--json")
    assert unbroken.returncode == 0, unbroken.stderr
    again = _step(json.loads(unbroken.stdout)["run_id"], "train")
    assert "resumed_from_round" not in again.details
    assert again.outputs["model"]["digest"] == train.outputs["model"]["digest"], "the same model, byte for byte"


def _settle_terminated(folder: Path, home: Path, seconds: int, grace_s: int) -> tuple[str, int, str]:
    """A one-step pipeline that sleeps ``seconds`` (no checkpoints), its `step run` sent SIGTERM once the step runs;
    the run id, the exit code and standard error."""
    folder.mkdir()
    (folder / "slow_steps.py").write_text("import time\n\ndef settle(seconds):\n    time.sleep(seconds)\n"
                                          "    return seconds\n")
    (folder / "pipeline.yaml").write_text("name: settle\nsteps:\n  - {name: settle, function: 'slow_steps:settle', "
                                          f"params: {{seconds: {seconds}}}}}\n")
    env = {**os.environ, "SHIPYARD_HOME": str(home), "SHIPYARD_PREEMPTION_GRACE_S": str(grace_s),
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    created = _shipyard(env, "runs", "create", str(folder / "pipeline.yaml"))
    assert created.returncode == 0, created.stderr
    run_id = created.stdout.strip()
    proc = subprocess.Popen([sys.executable, "-m", "shipyard", "step", "run", run_id, "settle"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while _step(run_id, "settle").state != "running":
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    return run_id, proc.returncode, err


def test_sigterm_to_a_step_without_checkpoints_lets_it_finish_in_the_grace_period(tmp_path, shipyard_home):
    run_id, code, err = _settle_terminated(tmp_path / "project", shipyard_home, seconds=3, grace_s=60)
    assert code == 0, err
    assert _step(run_id, "settle").state == "succeeded"


def test_a_step_that_outlives_the_grace_period_is_killed_and_recorded_as_preempted(tmp_path, shipyard_home):
    run_id, code, err = _settle_terminated(tmp_path / "project", shipyard_home, seconds=300, grace_s=1)
    assert code == 130, err
    settled = _step(run_id, "settle")
    assert settled.state == "cancelled" and "did not stop within 1s and was killed" in settled.error
    assert settled.attempts == 0
