"""kill -9 of `shipyard run`: no worker outlives it, the run shows as interrupted, one owner at a time."""

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from test_run_errors import SPEC

ROOT = Path(__file__).resolve().parents[2]
LEASE_S = 3


def _shipyard(env, *args, timeout=300):
    return subprocess.run([sys.executable, "-m", "shipyard", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.slow
def test_kill_9_then_resume_registers_exactly_one_version(tmp_path, shipyard_home):
    sys.path.insert(0, str(ROOT / "examples" / "churn"))
    from generate import generate_churn

    from shipyard.store.leases import process_exists

    (tmp_path / "data").mkdir()
    generate_churn(n_rows=1500, seed=3).to_csv(tmp_path / "data" / "churn.csv", index=False)
    hold = tmp_path / "hold"
    hold.write_text("x")
    (tmp_path / "slow_steps.py").write_text(textwrap.dedent(f"""\
        import time
        from pathlib import Path

        def hold(frame):
            while Path({str(hold)!r}).exists():
                time.sleep(0.05)
            return {{"frame": frame}}
    """))
    (tmp_path / "pipeline.yaml").write_text(SPEC + textwrap.dedent("""\
        steps:
          - name: wait
            function: slow_steps:hold
            inputs: {frame: split.train}
            outputs: [frame]
        step_options:
          features: {inputs: {train: wait.frame}}
    """))
    env = {**os.environ, "SHIPYARD_HOME": str(shipyard_home), "SHIPYARD_RUN_LEASE_S": str(LEASE_S)}
    proc = subprocess.Popen([sys.executable, "-m", "shipyard", "run", str(tmp_path / "pipeline.yaml")],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = ""
    deadline = time.monotonic() + 180
    try:
        while "wait: running" not in seen:
            line = proc.stderr.readline()
            assert line, f"run ended early: {seen}"
            seen += line
            assert time.monotonic() < deadline
        run_id = re.search(r"run (\w+) of tiny", seen).group(1)

        live = _shipyard(env, "run", "--resume", run_id)
        assert live.returncode == 6, live.stderr
        assert "run is still running" in live.stderr and f"process {proc.pid} on" in live.stderr
        assert "Traceback" not in live.stderr
        assert "running" in _shipyard(env, "runs", "list").stdout

        workers = [int(p) for p in subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True,
                                                  text=True).stdout.split()]
        assert workers, "the run has worker processes"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    proc.stdout.close()
    proc.stderr.close()
    killed_at = time.monotonic()
    while any(process_exists(pid) for pid in workers) and time.monotonic() - killed_at < 5:
        time.sleep(0.05)
    orphans = [pid for pid in workers if process_exists(pid)]
    for pid in orphans:
        os.kill(pid, signal.SIGKILL)
    assert orphans == [], "workers outlived the killed run"

    listed = _shipyard(env, "runs", "list")
    assert re.search(rf"{run_id}.*interrupted", listed.stdout), listed.stdout
    assert f"resume with: shipyard run --resume {run_id}" in listed.stdout
    shown = _shipyard(env, "runs", "show", run_id)
    assert f"{run_id}[/] of" not in shown.stdout
    assert "interrupted" in shown.stdout
    assert f"resume with: shipyard run --resume {run_id}" in shown.stdout

    time.sleep(max(0.0, LEASE_S - (time.monotonic() - killed_at)))  # the dead owner's lease has run out too
    hold.unlink()
    resumed = _shipyard(env, "run", "--resume", run_id)
    assert resumed.returncode == 0, resumed.stderr
    assert "done before resume" in resumed.stderr
    assert "registered model: tiny version 1" in resumed.stdout
    again = _shipyard(env, "run", "--resume", run_id)
    assert again.returncode == 6 and "already succeeded" in again.stderr

    from mlflow import MlflowClient

    store = f"sqlite:///{shipyard_home / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=store, registry_uri=store)
    versions = client.search_model_versions("name='tiny'")
    assert [str(v.version) for v in versions] == ["1"]
    assert versions[0].tags["shipyard.pipeline_run_id"] == run_id
