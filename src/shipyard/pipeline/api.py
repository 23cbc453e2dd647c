"""``run`` and ``resume``: a pipeline YAML in, a finished ``PipelineRun`` out."""

from __future__ import annotations

from pathlib import Path

from shipyard.config import Settings, load_settings
from shipyard.pipeline.compile import compile_spec, user_modules
from shipyard.pipeline.progress import Reporter
from shipyard.pipeline.runner import RunOptions, Runner, RunPlan, add_to_path
from shipyard.pipeline.state import PipelineRun
from shipyard.spec.loader import LoadedSpec, load_spec, parse_spec

WARM_MODULES = ("pandas", "pyarrow.parquet", "sklearn.pipeline", "sklearn.compose", "skops.io")


def plan_spec(loaded: LoadedSpec) -> RunPlan:
    from shipyard.data.sources import source_fingerprint

    spec = loaded.spec
    add_to_path(loaded.base_dir)
    source_digest = source_fingerprint(spec.data, loaded.base_dir)
    filename = loaded.path.name if loaded.path else "pipeline.yaml"
    dag = compile_spec(spec, spec_text=loaded.text, spec_filename=filename, source_digest=source_digest)
    return RunPlan(dag=dag, pipeline=spec.name, base_dir=loaded.base_dir, spec_text=loaded.text,
                   spec_path=str(loaded.path) if loaded.path else None, spec_digest=loaded.digest,
                   extra_modules=user_modules(spec),
                   preflight=("shipyard.pipeline.preflight:check", {"loaded": loaded}))


def run(spec: str | Path | LoadedSpec, *, options: RunOptions | None = None, settings: Settings | None = None,
        reporter: Reporter | None = None) -> PipelineRun:
    """Run a pipeline YAML end to end (cached steps are reused)."""
    loaded = spec if isinstance(spec, LoadedSpec) else load_spec(spec)
    options = options or RunOptions(preload=WARM_MODULES)
    return Runner(plan_spec(loaded), options=options, settings=settings or load_settings(),
                  reporter=reporter).run()


def resume(run_id: str, *, options: RunOptions | None = None, settings: Settings | None = None,
           reporter: Reporter | None = None) -> PipelineRun:
    """Continue a failed or interrupted run from its last completed step, with the spec it started with."""
    from shipyard.errors import RefusedError
    from shipyard.store import runs as store

    settings = settings or load_settings()
    record = store.get_run(run_id)
    if record.status == "succeeded":
        raise RefusedError(f"run {record.id} already succeeded; there is nothing to resume",
                           hint=f"start a new run with: shipyard run {record.spec_path or 'PIPELINE_YAML'}")
    base_dir = Path(record.spec_path).parent if record.spec_path else Path.cwd()
    loaded = parse_spec(record.spec_text, source=record.spec_path or "<stored spec>", base_dir=base_dir)
    if record.spec_path:
        loaded = LoadedSpec(spec=loaded.spec, text=loaded.text, path=Path(record.spec_path),
                            base_dir=loaded.base_dir, digest=loaded.digest)
    options = options or RunOptions(preload=WARM_MODULES)
    return Runner(plan_spec(loaded), options=options, settings=settings, reporter=reporter,
                  run_id=record.id).run()
