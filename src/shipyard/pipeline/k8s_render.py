"""The manifests of one run of a pipeline, written as YAML files."""

from __future__ import annotations

import io
import time
from pathlib import Path

from shipyard.errors import UsageError
from shipyard.pipeline.k8s_jobs import JobTarget, checked_image, render_run


def render_pipeline(spec: str | Path, out: Path, *, run_id: str | None = None,
                    image: str | None = None) -> tuple[str, list[Path]]:
    """Write the PriorityClasses and each step's Job for ``run_id`` (default: a new run); return the run and files."""
    from shipyard.pipeline.steprun import create_run, recorded_plan
    from shipyard.spec.loader import load_spec
    from shipyard.store import runs as store

    loaded = load_spec(spec)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} is a file; --out takes a folder")
    if run_id is None:
        record = None
    else:
        record = store.get_run(run_id)
        if record.pipeline != loaded.spec.name:
            raise UsageError(f"run {record.id} is of pipeline '{record.pipeline}', not '{loaded.spec.name}'",
                             hint="leave out --run-id to record a new run of this pipeline")
    if record is None:
        checked_image(loaded.spec.kubernetes, image)  # before the run is recorded
        record = store.get_run(create_run(spec))
    plan = recorded_plan(record)
    started = record.started_at.timestamp() if record.started_at else time.time()
    target = JobTarget.of(run_id=record.id, pipeline=plan.pipeline, config=loaded.spec.kubernetes,
                          image=image, started_s=started)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, manifest in render_run(target, plan.dag):
        path = out / name
        path.write_text(_yaml(manifest))
        written.append(path)
    return record.id, written


def _yaml(manifest: dict) -> str:
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.default_flow_style = False
    buffer = io.StringIO()
    yaml.dump(manifest, buffer)
    return buffer.getvalue()
