"""``run`` and ``resume``: a pipeline YAML in, a finished ``PipelineRun`` out."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from pathlib import Path

from shipyard.config import Settings, load_settings
from shipyard.errors import RefusedError, SpecError
from shipyard.governance.identity import current_identity
from shipyard.governance.policy import authorize
from shipyard.pipeline.compile import compile_spec, user_modules
from shipyard.pipeline.progress import Reporter
from shipyard.pipeline.runner import RunOptions, Runner, RunPlan, add_to_path
from shipyard.pipeline.state import PipelineRun
from shipyard.pipeline.tracking_sync import sync_if_server_answers
from shipyard.spec.loader import LoadedSpec, load_spec, parse_spec
from shipyard.spec.models import PipelineSpec

WARM_MODULES = ("pandas", "pyarrow.parquet", "sklearn.pipeline", "sklearn.compose", "skops.io")
"""What the built-in steps of a model pipeline import, loaded once in each worker as it starts."""
_log = logging.getLogger(__name__)


def plan_spec(loaded: LoadedSpec) -> RunPlan:
    spec = loaded.spec
    add_to_path(loaded.base_dir)
    source_digest = None
    if spec.data is not None:
        from shipyard.data.sources import source_fingerprint

        source_digest = source_fingerprint(spec.data, loaded.base_dir)
    filename = loaded.path.name if loaded.path else "pipeline.yaml"
    dag = compile_spec(spec, spec_text=loaded.text, spec_filename=filename, source_digest=source_digest)
    return RunPlan(dag=dag, pipeline=spec.name, base_dir=loaded.base_dir, spec_text=loaded.text,
                   spec_path=str(loaded.path) if loaded.path else None, spec_digest=loaded.digest,
                   extra_modules=user_modules(spec), preload=WARM_MODULES if spec.trains_model else (),
                   preflight=("shipyard.pipeline.preflight:check", {"loaded": loaded}), team=spec.team,
                   model=spec.model_name if spec.trains_model else None, kubernetes=spec.kubernetes)


def run(spec: str | Path | LoadedSpec, *, options: RunOptions | None = None, settings: Settings | None = None,
        reporter: Reporter | None = None, run_id: str | None = None,
        notice: Callable[[str], None] | None = None) -> PipelineRun:
    """Run a pipeline YAML end to end (cached steps are reused); ``run_id`` names the new run.

    Runs logged earlier while the MLflow server was out are synced first, when it answers.
    ``notice`` receives what the user should see: the sync of earlier runs, and waiting for the team's quota.
    """
    loaded = spec if isinstance(spec, LoadedSpec) else load_spec(spec)
    settings = settings or load_settings()
    authorize_run(loaded, settings)
    sync_if_server_answers(settings=settings, notice=notice or _log.warning)
    options = options or RunOptions()
    return Runner(plan_spec(loaded), options=options, settings=settings, reporter=reporter, new_id=run_id,
                  notice=notice).run()


def run_operations(spec: PipelineSpec) -> tuple[str, ...]:
    """The policy operations a run of ``spec`` does as its caller.

    Its gates move the new version to staging or reject it, and its rollout deploys a canary (or waits
    for an approver where it would go straight to production), so a run never needs more than these.
    """
    operations = ["runs.start"]
    if spec.trains_model and spec.promotion is not None:
        operations += ["gates.evaluate", "lifecycle.promote", "lifecycle.reject"]
        if spec.deployment is not None:
            operations.append("deploy.canary")
    return tuple(operations)


def authorize_run(loaded: LoadedSpec, settings: Settings) -> None:
    """Before anything runs: the caller may do each of the run's operations in the spec's team, and the team
    owns the model it registers."""
    spec = loaded.spec
    identity = current_identity()
    for operation in run_operations(spec):
        authorize(identity, operation, team=spec.team)
    if not spec.trains_model:
        return
    from shipyard.governance.directory import model_team  # the audit chain's imports, only for model pipelines

    owner = model_team(spec.model_name, settings=settings)
    if owner is not None and owner != spec.team:
        raise RefusedError(f"model '{spec.model_name}' is owned by team {owner}, but the spec says "
                           f"{'team ' + spec.team if spec.team else 'no team'}",
                           hint=f"set `team: {owner}` in the spec, or register the model under another name")


def resume(run_id: str, *, spec: str | Path | None = None, options: RunOptions | None = None,
           settings: Settings | None = None, reporter: Reporter | None = None,
           notice: Callable[[str], None] | None = None) -> PipelineRun:
    """Continue a failed or interrupted run from its last completed step.

    It runs with the spec the run started with, or with ``spec`` (a fixed file): completed steps whose
    cache key is unchanged under it are kept, the others run again. ``notice`` receives what the
    caller should tell the user before the run starts.
    """
    settings = settings or load_settings()
    record = resumable_run(run_id, settings=settings)
    loaded = fixed_spec(record, spec) if spec is not None else _stored_spec(record, notice)
    authorize_run(loaded, settings)
    options = options or RunOptions()
    return Runner(plan_spec(loaded), options=options, settings=settings, reporter=reporter,
                  run_id=record.id, notice=notice).run()


def resumable_run(run_id: str, *, settings: Settings | None = None):
    """The run ``run_id`` (or a unique prefix) if it may be resumed now; refused when it succeeded or is running."""
    from shipyard.store import leases
    from shipyard.store import runs as store

    record = store.get_run(run_id, settings=settings)
    if record.status == "succeeded":
        raise RefusedError(f"run {record.id} already succeeded; there is nothing to resume",
                           hint=f"start a new run with: shipyard run {record.spec_path or 'PIPELINE_YAML'}")
    if record.holder.alive():
        raise leases.still_running(record.id, record.holder)
    return record


def fixed_spec(record, spec: str | Path) -> LoadedSpec:
    loaded = load_spec(spec)
    if loaded.spec.name != record.pipeline:
        raise RefusedError(f"{spec} describes pipeline '{loaded.spec.name}', but run {record.id} is of "
                           f"'{record.pipeline}'; a resume continues the same pipeline",
                           hint=f"give the spec of '{record.pipeline}', or start a new run with: shipyard run {spec}")
    return loaded


def _stored_spec(record, notice: Callable[[str], None] | None) -> LoadedSpec:
    """The spec the run started with; refused when it failed on its spec and the file has been changed since."""
    path = Path(record.spec_path) if record.spec_path else None
    fix = f"shipyard run --resume {record.id} --spec {record.spec_path or 'FIXED_PIPELINE_YAML'}"
    try:
        loaded = parse_spec(record.spec_text, source=record.spec_path or "<stored spec>",
                            base_dir=path.parent if path else Path.cwd())
    except SpecError as exc:
        raise SpecError(f"the spec stored with run {record.id} is no longer valid: {exc.message}",
                        hint=f"fix the file and resume with it: {fix}") from None
    if path is not None:
        loaded = LoadedSpec(spec=loaded.spec, text=loaded.text, path=path, base_dir=loaded.base_dir,
                            digest=loaded.digest)
    on_disk = _digest_of(path)
    if on_disk is None or on_disk == record.spec_digest:
        return loaded
    if (record.result or {}).get("error_kind") == "SpecError":
        raise RefusedError(
            f"run {record.id} failed on its spec, and {record.spec_path} has changed since; resuming with the "
            "spec the run started with would fail the same way",
            headline="spec changed since the run", hint=f"resume with the changed file: {fix}")
    if notice is not None:
        notice(f"{record.spec_path} changed since run {record.id} started; this resume uses the spec the run "
               f"started with. To resume with the changed file: {fix}")
    return loaded


def _digest_of(path: Path | None) -> str | None:
    """The digest ``load_spec`` would give the file now, without parsing it."""
    if path is None:
        return None
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
