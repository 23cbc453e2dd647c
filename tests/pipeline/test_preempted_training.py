"""A real `shipyard run` training a booster, stopped mid-training and resumed.

SIGTERM to the run: the train step saves a checkpoint in its grace period, the run ends resumable
(exit 130), and `--resume` finishes the rounds into the same model an unbroken run trains (XGBoost:
the same bytes; LightGBM's equal trees are tested in test_boosting.py). kill -9:
nothing gets to save, so the resume continues from the last periodic checkpoint. SIGTERM to the
worker alone (its machine reclaimed): the runner runs the step again in the same run, resuming.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from churn_project import churn_spec, write_churn_project

ROOT = Path(__file__).resolve().parents[2]
ROUNDS, EVERY = 600, 20
LEASE_S = 2
pytestmark = pytest.mark.slow

MODELS = {
    "xgboost": f"{{flavor: xgboost, estimator: XGBClassifier, params: {{n_estimators: {ROUNDS}, max_depth: 4}}}}",
    "lightgbm": f"{{flavor: lightgbm, estimator: LGBMClassifier, params: {{n_estimators: {ROUNDS}, num_leaves: 15}}}}",
}


@pytest.fixture
def project(tmp_path, shipyard_home):
    env = {**os.environ, "SHIPYARD_HOME": str(shipyard_home), "SHIPYARD_CHECKPOINT_EVERY": str(EVERY),
           "SHIPYARD_RUN_LEASE_S": str(LEASE_S), "SHIPYARD_PREEMPTION_GRACE_S": "60",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    return tmp_path, shipyard_home, env


def _write_spec(folder: Path, library: str) -> Path:
    pytest.importorskip(library)
    return write_churn_project(folder, churn_spec("boosted", MODELS[library], "resources: {cpu: 1}\n"),
                               rows=6000, seed=5)


def _shipyard(env, *args):
    return subprocess.run([sys.executable, "-m", "shipyard", *args], env=env, capture_output=True, text=True,
                          timeout=600)


def _start(env, spec: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "shipyard", "run", str(spec)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _checkpoint_progress(home: Path) -> tuple[str, int] | None:
    """(run id, rounds) of the train step's checkpoint, if one is saved."""
    for path in (home / "artifacts" / "keyed" / "checkpoints").glob("*/train"):
        try:
            header = json.loads(path.read_bytes().partition(b"\n")[0])
        except (OSError, ValueError):
            continue
        return path.parent.name, header["progress"]
    return None


def _wait_for_checkpoint(home: Path, proc: subprocess.Popen, at_least: int) -> str:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        found = _checkpoint_progress(home)
        if found and found[1] >= at_least:
            return found[0]
        assert proc.poll() is None, f"the run ended before a checkpoint: {proc.communicate()}"
        time.sleep(0.02)
    raise AssertionError("no checkpoint within 300s")


def _train_step(run_id: str):
    from shipyard.store import runs as store

    return next(step for step in store.get_run(run_id).steps if step.name == "train")


def test_sigterm_checkpoints_in_the_grace_period_and_resume_trains_the_unbroken_model(project):
    folder, home, env = project
    spec = _write_spec(folder, "xgboost")
    proc = _start(env, spec)
    try:
        run_id = _wait_for_checkpoint(home, proc, at_least=EVERY)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "preempted" in err and f"shipyard run --resume {run_id}" in err + out
    assert "Traceback" not in err
    stopped_at = _checkpoint_progress(home)[1]
    assert EVERY <= stopped_at < ROUNDS
    stopped = _train_step(run_id)
    assert stopped.state == "cancelled" and "told to stop (SIGTERM)" in stopped.error

    resumed = _shipyard(env, "run", "--resume", run_id)
    assert resumed.returncode == 0, resumed.stderr
    train = _train_step(run_id)
    assert train.details["boosting_rounds"] == ROUNDS
    assert train.details["resumed_from_round"] == stopped_at
    assert _checkpoint_progress(home) is None, "a finished step leaves no checkpoint behind"

    unbroken = _shipyard(env, "run", str(spec), "--no-cache", "--json")
    assert unbroken.returncode == 0, unbroken.stderr
    again = _train_step(json.loads(unbroken.stdout)["run_id"])
    assert "resumed_from_round" not in again.details
    assert again.outputs["model"]["digest"] == train.outputs["model"]["digest"], "the same model, byte for byte"


def test_kill_9_resumes_from_the_last_periodic_checkpoint(project):
    folder, home, env = project
    spec = _write_spec(folder, "xgboost")
    proc = _start(env, spec)
    try:
        run_id = _wait_for_checkpoint(home, proc, at_least=2 * EVERY)
    finally:
        proc.kill()
        proc.communicate()
    time.sleep(0.5)  # the workers die with the run (SIGKILL from the kernel)
    saved = _checkpoint_progress(home)[1]
    assert saved % EVERY == 0 and saved >= 2 * EVERY
    time.sleep(LEASE_S)  # the dead run's lease runs out

    resumed = _shipyard(env, "run", "--resume", run_id)
    assert resumed.returncode == 0, resumed.stderr
    train = _train_step(run_id)
    assert (train.details["resumed_from_round"], train.details["boosting_rounds"]) == (saved, ROUNDS)


def test_a_preempted_worker_is_run_again_in_the_same_run_without_counting_an_attempt(project):
    folder, home, env = project
    spec = _write_spec(folder, "lightgbm")
    proc = _start(env, spec)
    try:
        _wait_for_checkpoint(home, proc, at_least=EVERY)
        workers = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
        assert workers, "the run has worker processes"
        for pid in workers:  # only the one training has a step to stop; idle ones ignore it
            os.kill(int(pid), signal.SIGTERM)
        out, err = proc.communicate(timeout=300)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    run_id = re.search(r"run (\w+) of boosted", err).group(1)
    train = _train_step(run_id)
    assert train.state == "succeeded" and train.attempts == 1
    assert train.details["boosting_rounds"] == ROUNDS and train.details["resumed_from_round"] >= EVERY
