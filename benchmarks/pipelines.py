"""Ten trivial user steps, whole process: `shipyard run pipeline.yaml` against a ten-step Metaflow flow.

    python benchmarks/pipelines.py [--rounds 5] [--results FILE]

Both sides run as a user runs them, a fresh process each time: `shipyard run pipeline.yaml
--no-cache` (every step executes) and `python flow.py run` in Metaflow's own virtualenv,
interleaved round by round after one unmeasured run each that creates their stores. Then
shipyard's fully cached re-run (Metaflow has no step cache: its re-run is a run).

The YAML is a pipeline of only `steps:` (no data, features or model), as an ETL or batch
job is written, so neither side trains or registers anything.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path


import peers
from harness import Row, interleave, measured, not_measured, save_rows, timed

HERE = Path(__file__).resolve().parent
STEPS = 10
WHAT = f"{STEPS} trivial user steps from a steps-only YAML, whole process, every step run"
CACHED = f"{STEPS} trivial steps, whole process, fully cached re-run"


def write_shipyard_pipeline(folder: Path) -> Path:
    shutil.copy(HERE / "trivial_steps.py", folder / "trivial_steps.py")
    steps = ["  - {name: s0, function: trivial_steps:first}"] + [
        f"  - {{name: s{i}, function: trivial_steps:increment, inputs: {{value: s{i - 1}.result}}}}"
        for i in range(1, STEPS)]
    path = folder / "pipeline.yaml"
    path.write_text("name: trivial\nsteps:\n" + "\n".join(steps) + "\n")
    return path


def write_metaflow_flow(folder: Path) -> Path:
    """start, s1 … s8, end: ten linear steps, each adding one to an artifact."""
    names = ["start"] + [f"s{i}" for i in range(1, STEPS - 1)] + ["end"]
    body = ["from metaflow import FlowSpec, step", "", "", "class TrivialFlow(FlowSpec):"]
    for i, name in enumerate(names):
        body += ["    @step", f"    def {name}(self):",
                 "        self.value = 0" if i == 0 else "        self.value += 1"]
        if name != "end":
            body.append(f"        self.next(self.{names[i + 1]})")
        body.append("")
    body += ["", 'if __name__ == "__main__":', "    TrivialFlow()"]
    path = folder / "flow.py"
    path.write_text("\n".join(body) + "\n")
    return path


def main() -> list[Row]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--results", type=Path)
    args = parser.parse_args()
    metaflow = peers.ensure("metaflow")
    with tempfile.TemporaryDirectory() as tmp:
        ours_dir, theirs_dir = Path(tmp, "shipyard"), Path(tmp, "metaflow")
        ours_dir.mkdir()
        theirs_dir.mkdir()
        pipeline = write_shipyard_pipeline(ours_dir)
        env = {**os.environ, "SHIPYARD_HOME": str(ours_dir / "home")}
        for key in ("SHIPYARD_DATABASE_URL", "MLFLOW_TRACKING_URI"):
            env.pop(key, None)
        shipyard = [sys.executable, "-m", "shipyard", "run", str(pipeline)]
        timed(shipyard, env=env, cwd=ours_dir)
        sides = {"shipyard": lambda: timed([*shipyard, "--no-cache"], env=env, cwd=ours_dir).seconds}
        if isinstance(metaflow, peers.Peer):
            flow = write_metaflow_flow(theirs_dir)
            flow_env = {**os.environ, "USERNAME": os.environ.get("USER", "bench"), "METAFLOW_HOME": str(theirs_dir)}
            run_flow = [str(metaflow.python), str(flow), "--quiet", "--no-pylint", "run"]
            timed(run_flow, env=flow_env, cwd=theirs_dir)
            sides[metaflow.label] = lambda: timed(run_flow, env=flow_env, cwd=theirs_dir).seconds
        times = interleave(args.rounds, sides)
        cached = [timed(shipyard, env=env, cwd=ours_dir).seconds for _ in range(args.rounds)]
    if isinstance(metaflow, peers.Peer):
        rows = [measured(WHAT, metaflow.label, "s", times["shipyard"], times[metaflow.label],
                         higher_is_better=False)]
    else:
        rows = [not_measured(WHAT, "metaflow", f"{statistics.median(times['shipyard']):.2f} s", metaflow.reason)]
    rows.append(Row(CACHED, metaflow.label if isinstance(metaflow, peers.Peer) else "metaflow",
                    f"{statistics.median(cached):.2f} s", "—", None, "no step cache: a re-run runs every step"))
    print(f"{STEPS} trivial user steps from a steps-only YAML, whole process, {args.rounds} interleaved rounds")
    for name, values in {**times, "shipyard cached re-run": cached}.items():
        print(f"  {name:<28} median {statistics.median(values):6.2f} s   "
              f"all {', '.join(f'{v:.2f}' for v in values)}")
    if args.results:
        save_rows(args.results, rows)
    return rows


if __name__ == "__main__":
    main()
