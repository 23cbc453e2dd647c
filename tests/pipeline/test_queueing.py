"""Runs under team quotas: what a run reserves, and real `shipyard run` processes queueing for their team's quota."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from shipyard.governance.admission import Request, queue
from shipyard.governance.quotas import Quota
from shipyard.pipeline.dag import Dag, StepNode, StepResources
from shipyard.pipeline.executor import Budget
from shipyard.pipeline.queueing import budget_within, reservation

MACHINE = Budget(cpu=16.0, memory=64 * 1024**3, gpu=0)


def _dag() -> Dag:
    sweep = {"n_trials": 10}
    return Dag([StepNode(name="load", kind="custom", impl="m:f", resources=StepResources(cpu=2, memory=1024)),
                StepNode(name="sweep", kind="sweep", impl="m:g", params={"sweep": sweep},
                         resources=StepResources(cpu=1, memory=4096)),
                StepNode(name="train", kind="custom", impl="m:h", resources=StepResources(cpu=6, gpu=1))])


def test_a_run_reserves_its_widest_step_and_a_sweep_its_trials_at_once():
    names = ["load", "sweep", "train"]
    capped = reservation(_dag(), names, Quota(sweep_trials=4), MACHINE)
    assert capped == Request(cpu=6.0, memory=4 * 4096, gpus=1, sweep_trials=4)
    uncapped = reservation(_dag(), names, Quota(runs=1), MACHINE)
    assert uncapped == Request(cpu=10.0, memory=10 * 4096, gpus=1, sweep_trials=0), "all 10 trials may run at once"
    assert reservation(_dag(), ["load"], Quota(runs=1), MACHINE) == Request(cpu=2.0, memory=1024)
    small = Budget(cpu=4.0, memory=8192, gpu=0)
    assert reservation(_dag(), names, Quota(runs=1), small) == Request(cpu=4.0, memory=8192, gpus=1)



def test_a_share_of_a_gpu_reserves_one_whole_gpu_of_the_quota():
    shared = Dag([StepNode(name="embed", kind="custom", impl="m:f", resources=StepResources(gpu=0.25))])
    assert reservation(shared, ["embed"], Quota(gpus=1), MACHINE).gpus == 1


def test_the_executor_is_narrowed_only_where_the_quota_limits():
    request = Request(cpu=6.0, memory=4096, gpus=0)
    assert budget_within(request, Quota(runs=2), MACHINE) == MACHINE
    assert budget_within(request, Quota(cpu=8, memory=10**9), MACHINE) == Budget(cpu=6.0, memory=4096, gpu=0)
    assert budget_within(Request(cpu=1.0), Quota(memory=10**9), MACHINE) == MACHINE, "no memory asked: no cap"


STEPS = textwrap.dedent("""\
    import time
    from pathlib import Path


    def hold(gate: str):
        while not Path(gate).exists():
            time.sleep(0.05)
        return {"held": gate}
""")


@pytest.fixture
def project(tmp_path, shipyard_home, monkeypatch):
    (tmp_path / "holding.py").write_text(STEPS)
    for team in ("fraud", "growth"):
        (tmp_path / f"{team}.yaml").write_text(
            f"name: {team}-job\nteam: {team}\nsteps:\n"
            f"  - {{name: hold, function: 'holding:hold', params: {{gate: '{tmp_path / 'gate-RUN'}'}}}}\n")
    quotas = tmp_path / "quotas.toml"
    quotas.write_text("[teams.fraud]\nruns = 1\n")
    monkeypatch.setenv("SHIPYARD_QUOTAS", str(quotas))
    return tmp_path


class Job:
    """``shipyard run`` of a one-step pipeline whose step waits until its gate file exists."""

    def __init__(self, project, team: str, run_id: str):
        self.run_id, self.gate = run_id, project / f"gate-{run_id}"
        spec = (project / f"{team}.yaml").read_text().replace("gate-RUN", f"gate-{run_id}")
        path = project / f"{run_id}.yaml"
        path.write_text(spec)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        self.process = subprocess.Popen([sys.executable, "-m", "shipyard", "run", str(path), "--no-cache",
                                         "--run-id", run_id], env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)

    def release(self) -> None:
        self.gate.touch()

    def finish(self, timeout: float = 60) -> tuple[int, str]:
        out, err = self.process.communicate(timeout=timeout)
        return self.process.returncode, out + err


def _status(run_id: str) -> str | None:
    from shipyard.errors import NotFoundError
    from shipyard.store import runs

    try:
        return runs.get_run(run_id).shown_status
    except NotFoundError:
        return None


def _wait_for(run_id: str, status: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _status(run_id) == status:
            return
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} is {_status(run_id)}, not {status}, after {timeout}s")


def _step_running(run_id: str) -> bool:
    from shipyard.store import runs

    return any(step.state == "running" for step in runs.get_run(run_id).steps)


def test_over_quota_a_run_waits_in_line_while_another_team_runs(project):
    first = Job(project, "fraud", "fraud1000000")
    _wait_for("fraud1000000", "running")
    second = Job(project, "fraud", "fraud2000000")
    _wait_for("fraud2000000", "queued")
    assert [(e.run_id, e.position, e.reason) for e in queue(team="fraud")] == [
        ("fraud2000000", 1, "team fraud is at its quota (1 of 1 runs running)")]
    other = Job(project, "growth", "growth100000")
    _wait_for("growth100000", "running")
    other.release()
    code, output = other.finish()
    assert code == 0 and "queued" not in output, output
    assert _status("fraud2000000") == "queued" and not _step_running("fraud2000000")
    second.release()
    first.release()
    assert first.finish()[0] == 0
    code, output = second.finish()
    assert code == 0, output
    assert "queued: team fraud is at its quota (1 of 1 runs running); position 1 in its queue" in output
    assert "admitted: team fraud's quota has room" in output
    from shipyard.store import runs

    done, waited = runs.get_run("fraud1000000"), runs.get_run("fraud2000000")
    assert waited.started_at >= done.finished_at, "the second started once the first had finished"
    assert queue() == []


def test_cancelled_queued_runs_leave_the_line_and_a_killed_run_frees_its_slot(project):
    from shipyard.pipeline import background

    holder = Job(project, "fraud", "holder000000")
    _wait_for("holder000000", "running")
    interrupted = Job(project, "fraud", "ctrlc0000000")
    _wait_for("ctrlc0000000", "queued")
    cancelled = Job(project, "fraud", "apicancel000")
    _wait_for("apicancel000", "queued")
    last = Job(project, "fraud", "last00000000")
    _wait_for("last00000000", "queued")
    assert [e.position for e in queue()] == [1, 2, 3]

    interrupted.process.send_signal(signal.SIGINT)
    assert interrupted.finish()[0] == 130
    background.cancel("apicancel000")
    assert cancelled.finish()[0] == 130
    assert (_status("ctrlc0000000"), _status("apicancel000")) == ("cancelled", "cancelled")
    assert [(e.run_id, e.position) for e in queue()] == [("last00000000", 1)]

    holder.process.kill()
    holder.process.wait()
    _wait_for("last00000000", "running", timeout=30)
    last.release()
    assert last.finish()[0] == 0
    assert _status("holder000000") == "interrupted" and _status("last00000000") == "succeeded"


FRAME = textwrap.dedent("""\
    import numpy as np
    import pandas as pd


    def frame():
        rng = np.random.default_rng(0)
        x1, x2 = rng.normal(size=300), rng.normal(size=300)
        return pd.DataFrame({"x1": x1, "x2": x2, "y": (x1 + x2 > 0).astype(int)})
""")


def test_a_sweep_runs_at_most_its_teams_sweep_trials_at_once(tmp_path, shipyard_home, monkeypatch):
    from shipyard.pipeline.runner import Runner, RunPlan
    from shipyard.pipeline.sweep import open_storage

    (tmp_path / "frames.py").write_text(FRAME)
    monkeypatch.syspath_prepend(str(tmp_path))
    quotas = tmp_path / "quotas.toml"
    quotas.write_text("[teams.fraud]\nsweep_trials = 1\n")
    monkeypatch.setenv("SHIPYARD_QUOTAS", str(quotas))
    sweep = {"n_trials": 3, "metric": "roc_auc", "direction": "maximize", "timeout": None, "pruning": False,
             "cv_folds": 2, "sampler_seed": 0,
             "space": {"C": {"type": "float", "low": 0.01, "high": 10.0, "log": True, "step": None}}}
    params = {"sweep": sweep, "model": {"flavor": "sklearn", "estimator": "LogisticRegression", "task": None,
                                        "params": {}},
              "features": [{"name": None, "columns": ["x1", "x2"], "function": None,
                            "transforms": [{"kind": "scale", "method": "standard"}]}],
              "target": "y", "task": "classification", "pipeline": "t"}
    dag = Dag((StepNode(name="split", kind="user", impl="frames:frame", user_code=True),
               StepNode(name="sweep", kind="sweep", impl="shipyard.pipeline.steps.sweep:run_trial",
                        inputs={"train": "split.result"}, params=params, ref_inputs=("train",))))
    result = Runner(RunPlan(dag=dag, pipeline="t", base_dir=tmp_path, team="fraud")).run()
    assert result.status == "succeeded", result.error
    assert result.step("sweep").details["trials"] == 3, "a capped sweep still runs all its trials"
    assert result.step("sweep").details["trial_seconds"] > 0, "what its trials ran is recorded for its cost"

    from shipyard.config import load_settings

    storage = open_storage(load_settings().database_url)
    study = storage.get_all_studies()[0]
    spans = sorted((t.datetime_start, t.datetime_complete) for t in storage.get_all_trials(study._study_id))
    assert len(spans) == 3
    assert all(previous[1] <= following[0] for previous, following in zip(spans, spans[1:])), \
        "no two trials ran at once"
