"""Ctrl-C cancels a run cleanly and the printed command resumes it."""

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


@pytest.mark.slow
def test_interrupt_then_resume(tmp_path, shipyard_home):
    sys.path.insert(0, str(ROOT / "examples" / "churn"))
    from generate import generate_churn

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
            return len(frame)
    """))
    (tmp_path / "pipeline.yaml").write_text(SPEC + textwrap.dedent("""\
        steps:
          - name: wait
            function: slow_steps:hold
            inputs: {frame: validate.frame}
    """))
    env = {**os.environ, "SHIPYARD_HOME": str(shipyard_home)}
    proc = subprocess.Popen([sys.executable, "-m", "shipyard", "run", str(tmp_path / "pipeline.yaml")],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = ""
    deadline = time.monotonic() + 120
    while "wait: running" not in seen:
        line = proc.stderr.readline()
        assert line, f"run ended early: {seen}"
        seen += line
        assert time.monotonic() < deadline
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    err = seen + err
    assert proc.returncode == 130, err
    match = re.search(r"shipyard run --resume (\w+)", err)
    assert match, err
    children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout
    assert children.strip() == ""

    hold.unlink()
    resumed = subprocess.run([sys.executable, "-m", "shipyard", "run", "--resume", match.group(1)],
                             env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert "done before resume" in resumed.stderr
    assert f"run {match.group(1)} succeeded" in resumed.stdout
