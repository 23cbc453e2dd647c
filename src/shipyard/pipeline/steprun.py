"""One step of a recorded run, run in this process on any machine that reaches the stores.

The contract, which the Airflow export and the Kubernetes executor build on:

    shipyard runs create PIPELINE.yaml [--no-cache]   prints the new run's id on stdout; the run is
                                                      recorded with every step pending, ready for steps
                                                      run one at a time anywhere
    shipyard step run RUN_ID STEP                     runs one step: its inputs are the outputs its
                                                      upstream steps recorded; exit 0 when it succeeded
                                                      or came from the cache, else the error tree's code
                                                      (7 failed after its retries, 4 user code, 3 data,
                                                      2 spec, 8 no such run or step, 6 an upstream step
                                                      is not done yet)
    shipyard runs finish RUN_ID                       records the run's end: succeeded when every step
                                                      is done (exit 0), else failed (exit 7)

A sweep's trials can run as tasks of their own (Airflow's mapped tasks): ``step run RUN SWEEP
--plan-trials`` draws their parameters (as a local sweep draws them) and prints their indices,
``step run RUN SWEEP --trial N`` runs trial N (exit 0 at once when it already ended), and a plain
``step run RUN SWEEP`` then gathers them: it finds them finished in the sweep's study (the one a
local run of the same step with the same inputs shares), runs any that crashed again, and
records the best. SIGTERM to ``step run`` is forwarded to the step's worker (see
:mod:`step_signals`): the step saves its checkpoint, is recorded as preempted and exits 130.

A step run this way gets the same cache key, cache entry and step record as under
``shipyard run``: both look it up with :func:`stepwork.cached_entry`, run it with
:func:`stepwork.perform_step` on a worker process of a :class:`LocalExecutor` (so its timeout
and a crash are handled alike), cache it with :func:`stepwork.remember`, retry it with
:func:`stepwork.retry_delay` and record it with :func:`stepwork.save_state`. A sweep step is
driven from this process, its trials on this machine's workers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from shipyard.config import Settings, load_settings
from shipyard.errors import (NotFoundError, PreemptedError, RefusedError, ShipyardError, StepFailedError,
                             UsageError)
from shipyard.governance.identity import current_identity
from shipyard.pipeline.dag import Dag, StepNode
from shipyard.pipeline.executor import LocalExecutor, TaskOutcome
from shipyard.pipeline.state import StepState
from shipyard.pipeline.step_signals import SigtermWatch, preempted, wait_for_outcomes, watching_sigterm
from shipyard.pipeline.stepwork import cached_entry, one_line, remember, retry_delay, save_state
from shipyard.store import runs as store

DRIVEN_BY_STEPS = "steps"
"""``options["driven_by"]`` of a run whose steps run one by one (``shipyard step run``), with no owner process."""
DEFAULT_BACKOFF_S = 0.5


@dataclass(frozen=True, kw_only=True)
class StepRunResult:
    run_id: str
    step: str
    state: str  # succeeded | cached | planned (--plan-trials) | trial-done (--trial, ended earlier or now)
    attempts: int
    duration_s: float
    cache_key: str
    trials: tuple[int, ...] = ()
    """--plan-trials: the indices of the trials planned."""


@dataclass(frozen=True, kw_only=True)
class RecordedPlan:
    """The DAG of a recorded run, compiled again from the spec stored with it."""

    dag: Dag
    pipeline: str
    base_dir: Path
    extra_modules: tuple[str, ...]


def create_run(spec: str | Path, *, no_cache: bool = False, settings: Settings | None = None,
               run_id: str | None = None, links: dict[str, Any] | None = None) -> str:
    """Record a new run of ``spec`` with every step pending and return its id.

    ``run_id`` names it (default: a new id); ``links`` are kept in its options (the orchestrator's own run).
    """
    from shipyard.pipeline.api import authorize_run, plan_spec
    from shipyard.pipeline.runner import attribution, new_run_id
    from shipyard.spec.loader import load_spec
    from shipyard.store.db import connection_scope

    settings = settings or load_settings()
    loaded = load_spec(spec)
    authorize_run(loaded, settings)
    plan = plan_spec(loaded)
    ingest = next((node for node in plan.dag.nodes if node.name == "ingest" and node.kind == "ingest"), None)
    run_id = run_id or new_run_id()
    options = {"no_cache": no_cache, "from_step": None, **attribution(plan), "driven_by": DRIVEN_BY_STEPS,
               "source_digest": ingest.params.get("source_digest") if ingest else None, **(links or {})}
    with connection_scope(settings) as connection:
        store.create_run(run_id=run_id, pipeline=plan.pipeline, spec_path=plan.spec_path, spec_text=plan.spec_text,
                         spec_digest=plan.spec_digest, options=options, started_by=current_identity().name,
                         connection=connection)
        for position, node in enumerate(plan.dag.nodes):
            save_state(run_id, StepState(name=node.name, kind=node.kind, position=position), connection=connection)
        store.update_run(run_id, connection=connection, status="running", started_at=_now())
    return run_id


def recorded_plan(record: store.RunRecord) -> RecordedPlan:
    """Compile the stored spec as the run compiled it: the data source's digest is the one recorded at its start."""
    from shipyard.pipeline.compile import compile_spec, user_modules
    from shipyard.pipeline.runner import add_to_path
    from shipyard.spec.loader import parse_spec

    path = Path(record.spec_path) if record.spec_path else None
    base_dir = path.parent if path else Path.cwd()
    loaded = parse_spec(record.spec_text, source=record.spec_path or "<stored spec>", base_dir=base_dir)
    spec = loaded.spec
    add_to_path(loaded.base_dir)
    if "source_digest" in (record.options or {}):
        source_digest = record.options["source_digest"]
    elif spec.data is not None:
        from shipyard.data.sources import source_fingerprint

        source_digest = source_fingerprint(spec.data, loaded.base_dir)
    else:
        source_digest = None
    dag = compile_spec(spec, spec_text=loaded.text, spec_filename=path.name if path else "pipeline.yaml",
                       source_digest=source_digest)
    return RecordedPlan(dag=dag, pipeline=spec.name, base_dir=loaded.base_dir, extra_modules=user_modules(spec))


def run_step(run_id: str, step: str, *, settings: Settings | None = None, backoff_s: float = DEFAULT_BACKOFF_S,
             once: bool = False, say=None, trial: int | None = None, plan_trials: bool = False) -> StepRunResult:
    """Run ``step`` of run ``run_id`` here, with its retries (one attempt only with ``once``); of a sweep step,
    with ``plan_trials`` only plan its trials, with ``trial`` only run that planned trial."""
    settings = settings or load_settings()
    say = say or (lambda text: None)
    record = store.get_run(run_id, settings=settings)
    plan = recorded_plan(record)
    node = _node(plan.dag, step, record.id)
    if (trial is not None or plan_trials) and node.kind != "sweep":
        raise UsageError(f"step '{node.name}' of run {record.id} is a {node.kind} step; --trial and --plan-trials "
                         "are for a sweep step", hint=f"`shipyard runs show {record.id}` lists its steps")
    if trial is not None and trial < 0:
        raise UsageError(f"--trial {trial}: a trial index is 0 or more")
    refs = _input_refs(record, node)
    position = plan.dag.names.index(node.name)
    previous = next((s for s in record.steps if s.name == node.name), None)
    state = StepState(name=node.name, kind=node.kind, position=position,
                      attempts=previous.attempts if previous and once else 0)
    from shipyard.pipeline.cache import cache_key
    from shipyard.pipeline.artifacts import open_artifact_store

    state.cache_key = cache_key(node, refs)
    no_cache = bool((record.options or {}).get("no_cache"))
    if not no_cache and node.cacheable:
        entry = cached_entry(state.cache_key, artifacts=open_artifact_store(settings), settings=settings)
        if entry is not None:
            state.state, state.cache_hit, state.outputs = "cached", True, dict(entry.outputs)
            state.details, state.duration_s = dict(entry.details or {}), 0.0
            save_state(record.id, state, settings=settings)
            say(f"step {node.name} of run {record.id}: cached")
            return _result(record.id, state)
    if plan_trials:
        return _plan_trials(record, plan, node, state, refs, settings=settings, no_cache=no_cache, say=say)
    if trial is not None:
        with watching_sigterm() as watch:
            return _run_planned_trial(record, plan, node, state, refs, trial, settings=settings,
                                      no_cache=no_cache, say=say, watch=watch)
    if node.kind == "sweep":
        with watching_sigterm() as watch:
            return _run_sweep(record, plan, node, state, refs, settings=settings, no_cache=no_cache, say=say,
                              watch=watch)
    with watching_sigterm() as watch, LocalExecutor(max_workers=1) as executor:
        while True:
            if watch.received:
                _record(record.id, state, settings, "cancelled", error="preempted before it started")
                raise preempted(node.name, stopped_in_time=True, grace_s=0, error=None)
            _record(record.id, state, settings, "running", attempts=state.attempts + 1, error=None)
            outcome, stopped = _one_attempt(executor, record.id, plan, node, refs, settings, state.attempts, watch)
            if stopped and outcome.status != "ok":
                error = preempted(node.name, stopped_in_time=outcome.status != "cancelled",
                                  grace_s=settings.preemption_grace_s, error=outcome.error)
                _record(record.id, state, settings, "cancelled", attempts=state.attempts - 1,
                        error=one_line(error), duration_s=outcome.duration_s)
                say(f"step {node.name} of run {record.id}: preempted; `shipyard step run {record.id} {node.name}` "
                    "resumes it")
                raise error
            if outcome.status == "ok":
                remember(outcome.value, node=node, run_id=record.id, settings=settings)
                _record(record.id, state, settings, "succeeded", outputs=outcome.value["outputs"],
                        details=outcome.value["details"], duration_s=outcome.duration_s)
                say(f"step {node.name} of run {record.id}: succeeded in {outcome.duration_s:.2f}s "
                    f"(attempt {state.attempts})")
                return _result(record.id, state)
            delay = None if once else retry_delay(outcome.error, attempts=state.attempts, retries=node.retries,
                                                  backoff_s=backoff_s)
            if delay is None:
                _record(record.id, state, settings, "failed", error=one_line(outcome.error),
                        duration_s=outcome.duration_s)
                raise _attribute(outcome.error, node.name)
            _record(record.id, state, settings, "pending", error=one_line(outcome.error))
            say(f"step {node.name} of run {record.id}: attempt {state.attempts} failed: {one_line(outcome.error)}; "
                f"retrying in {delay:.1f}s")
            _sleep_unless_stopped(delay, watch)


def finish_run(run_id: str, *, settings: Settings | None = None) -> store.RunRecord:
    """Record the end of a run whose steps ran one by one: succeeded when every step is done, else failed."""
    from shipyard.pipeline.state import run_result_fields

    settings = settings or load_settings()
    record = store.get_run(run_id, settings=settings)
    failed = [s for s in record.steps if s.state not in ("succeeded", "cached")]
    error = None
    if failed:
        first = failed[0]
        reason = first.error or f"it is {first.state}"
        error = StepFailedError(f"step '{first.name}': {reason}",
                                hint=f"run it again with: shipyard step run {record.id} {first.name}")
        for step in failed:
            if step.state == "pending":
                store.save_step(record.id, step.name, settings=settings, state="skipped")
    outputs = {s.name: dict(s.outputs or {}) for s in record.steps if s.state in ("succeeded", "cached")}
    fields = run_result_fields(outputs, error, settings=settings)
    store.update_run(record.id, settings=settings, status="failed" if failed else "succeeded", **fields)
    return store.get_run(record.id, settings=settings)


def _node(dag: Dag, step: str, run_id: str) -> StepNode:
    for node in dag.nodes:
        if node.name == step:
            return node
    raise NotFoundError(f"run {run_id} has no step '{step}'; its steps are: {', '.join(dag.names)}",
                        headline="no such step", hint=f"`shipyard runs show {run_id}` lists them")


def _input_refs(record: store.RunRecord, node: StepNode) -> dict[str, dict[str, str]]:
    steps = {s.name: s for s in record.steps}
    refs = {}
    for arg, ref in node.inputs.items():
        upstream, _, output = ref.partition(".")
        found = steps.get(upstream)
        if found is None or found.state not in ("succeeded", "cached") or output not in (found.outputs or {}):
            shown = found.state if found is not None else "not recorded"
            raise RefusedError(f"step '{node.name}' of run {record.id} reads '{ref}', but step '{upstream}' is "
                               f"{shown}", headline="upstream step not done",
                               hint=f"run it first: shipyard step run {record.id} {upstream}")
        refs[arg] = {"digest": found.outputs[output]["digest"], "format": found.outputs[output]["format"]}
    return refs


def _one_attempt(executor: LocalExecutor, run_id: str, plan: RecordedPlan, node: StepNode,
                 refs: dict[str, dict[str, str]], settings: Settings, attempt: int, watch: SigtermWatch):
    """The attempt's outcome (``cancelled`` when it was killed after the grace period), and whether SIGTERM
    stopped it."""
    from shipyard.pipeline.stepwork import perform_step

    kwargs = {"node": node, "input_refs": refs, "run_id": run_id, "settings": settings,
              "base_dir": str(plan.base_dir), "extra_modules": plan.extra_modules, "identity": current_identity()}
    task_id = f"{node.name}@{attempt}"
    started = time.monotonic()
    executor.submit(task_id, f"{perform_step.__module__}:perform_step", kwargs,
                    resources=node.resources, timeout=node.timeout)
    outcomes = []
    stopped = wait_for_outcomes(executor, watch, grace_s=settings.preemption_grace_s, on_outcome=outcomes.append,
                                until_idle=False)
    if outcomes:
        return outcomes[0], stopped
    return TaskOutcome(task_id=task_id, status="cancelled", duration_s=time.monotonic() - started), stopped


def _sleep_unless_stopped(delay: float, watch: SigtermWatch) -> None:
    """The backoff before a retry; SIGTERM cuts it short (the next attempt is then not started)."""
    deadline = time.monotonic() + delay
    while not watch.received and time.monotonic() < deadline:
        time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))


def _sweep_controller(record: store.RunRecord, plan: RecordedPlan, node: StepNode, state: StepState,
                      refs: dict[str, dict[str, str]], *, settings: Settings, no_cache: bool, requeue: bool = True):
    from shipyard.pipeline.runner import sweep_study_name
    from shipyard.pipeline.sweep import SweepController

    return SweepController(node=node, train_ref=refs["train"], settings=settings,
                           study_name=sweep_study_name(plan.pipeline, state.cache_key,
                                                       record.id if no_cache else None),
                           storage_url=settings.database_url, requeue=requeue)


def _plan_trials(record: store.RunRecord, plan: RecordedPlan, node: StepNode, state: StepState,
                 refs: dict[str, dict[str, str]], *, settings: Settings, no_cache: bool, say) -> StepRunResult:
    controller = _sweep_controller(record, plan, node, state, refs, settings=settings, no_cache=no_cache,
                                   requeue=False)
    planned = controller.plan_trials()
    _record(record.id, state, settings, "running", error=None)
    say(f"step {node.name} of run {record.id}: {len(planned)} trials planned")
    return StepRunResult(run_id=record.id, step=node.name, state="planned", attempts=state.attempts,
                         duration_s=0.0, cache_key=state.cache_key or "", trials=tuple(planned))


def _run_planned_trial(record: store.RunRecord, plan: RecordedPlan, node: StepNode, state: StepState,
                       refs: dict[str, dict[str, str]], index: int, *, settings: Settings, no_cache: bool, say,
                       watch: SigtermWatch) -> StepRunResult:
    """One planned trial, on a worker here; its outcome goes to the sweep's study, where the gathering run of
    the step finds it. A trial that fails fails this command (exit 7) and counts as a failed trial of the sweep."""
    controller = _sweep_controller(record, plan, node, state, refs, settings=settings, no_cache=no_cache,
                                   requeue=False)
    found = controller.planned_task(index)
    done = StepRunResult(run_id=record.id, step=node.name, state="trial-done", attempts=state.attempts,
                         duration_s=0.0, cache_key=state.cache_key or "", trials=(index,))
    if found is None:
        say(f"step {node.name} of run {record.id}: trial {index} has ended, or was not planned")
        return done
    task_id, kwargs = found
    started = time.monotonic()
    outcomes = []
    with LocalExecutor(max_workers=1) as executor:
        executor.submit(task_id, "shipyard.pipeline.steps.sweep:run_trial", kwargs, resources=node.resources,
                        timeout=node.timeout)
        stopped = wait_for_outcomes(executor, watch, grace_s=settings.preemption_grace_s,
                                    on_outcome=outcomes.append, until_idle=False)
    if stopped and (not outcomes or outcomes[0].status != "ok"):
        raise PreemptedError(f"trial {index} of step '{node.name}' was told to stop (SIGTERM)",
                             hint=f"run it again: shipyard step run {record.id} {node.name} --trial {index}")
    outcome = outcomes[0]
    error = None if outcome.status == "ok" else one_line(outcome.error)
    controller.on_outcome(task_id, outcome.status == "ok", outcome.value, error, keep_error=True)
    duration = time.monotonic() - started
    if error is not None:
        raise StepFailedError(f"trial {index} of step '{node.name}' failed: {error}",
                              hint="the sweep counts it as a failed trial; the other trials go on")
    say(f"step {node.name} of run {record.id}: trial {index} {outcome.value['state']} with "
        f"{controller.sweep.metric}={outcome.value['value']:.4f} in {duration:.2f}s")
    return replace(done, duration_s=duration)


def _run_sweep(record: store.RunRecord, plan: RecordedPlan, node: StepNode, state: StepState,
               refs: dict[str, dict[str, str]], *, settings: Settings, no_cache: bool, say,
               watch: SigtermWatch) -> StepRunResult:
    """The sweep's trials on this machine's workers, driven from here as the runner drives them."""
    from shipyard.pipeline.artifacts import open_artifact_store
    from shipyard.pipeline.serialization import save_value

    controller = _sweep_controller(record, plan, node, state, refs, settings=settings, no_cache=no_cache)
    started = time.monotonic()
    _record(record.id, state, settings, "running", attempts=state.attempts + 1, error=None)
    trial_seconds = 0.0

    def on_outcome(outcome) -> None:
        nonlocal trial_seconds
        error = None if outcome.status == "ok" else one_line(outcome.error)
        controller.on_outcome(outcome.task_id, outcome.status == "ok", outcome.value, error)
        trial_seconds += outcome.duration_s or 0.0

    with LocalExecutor() as executor:
        while not controller.done():
            if watch.received:
                wait_for_outcomes(executor, watch, grace_s=settings.preemption_grace_s, on_outcome=on_outcome,
                                  until_idle=True)
                error = PreemptedError(f"step '{node.name}' was told to stop (SIGTERM) after "
                                       f"{controller.finished_count()} of {controller.sweep.n_trials} trials",
                                       hint="run it again: finished trials count, cut-short ones run again")
                _record(record.id, state, settings, "cancelled", attempts=state.attempts - 1, error=one_line(error),
                        duration_s=time.monotonic() - started)
                raise error
            while controller.wants_more() and controller.has_room() and executor.fits(node.resources):
                task_id, kwargs = controller.next_task()
                executor.submit(task_id, "shipyard.pipeline.steps.sweep:run_trial", kwargs,
                                resources=node.resources, timeout=node.timeout)
            for outcome in executor.poll(0.2):
                on_outcome(outcome)
    duration = time.monotonic() - started
    try:
        result = controller.result()
    except ShipyardError as exc:
        _record(record.id, state, settings, "failed", error=one_line(exc), duration_s=duration)
        raise _attribute(exc, node.name) from None
    stored = save_value(open_artifact_store(settings), result)
    store.record_artifact(stored.digest, stored.format, stored.size_bytes, stored.meta, settings=settings)
    details = {"best_value": result["best_value"], "best_params": result["best_params"],
               "trials": result["n_trials"], "metric": result["metric"], "trial_seconds": trial_seconds}
    outputs = {"result": stored.ref()}
    if node.cacheable:
        store.cache_put(state.cache_key, step_kind=node.kind, outputs=outputs, run_id=record.id, details=details,
                        settings=settings)
    _record(record.id, state, settings, "succeeded", outputs=outputs, details=details, duration_s=duration)
    say(f"step {node.name} of run {record.id}: succeeded in {duration:.2f}s ({result['n_trials']} trials)")
    return _result(record.id, state)


def _record(run_id: str, state: StepState, settings: Settings, new_state: str, **fields: Any) -> None:
    state.state = new_state
    for key, value in fields.items():
        setattr(state, key, value)
    save_state(run_id, state, settings=settings)


def _result(run_id: str, state: StepState) -> StepRunResult:
    return StepRunResult(run_id=run_id, step=state.name, state=state.state, attempts=state.attempts,
                         duration_s=state.duration_s or 0.0, cache_key=state.cache_key or "")


def _attribute(error: ShipyardError | None, step: str) -> ShipyardError:
    from shipyard.pipeline.runner import attribute_error

    return attribute_error(error or StepFailedError("the attempt ended without an error"), step)


def _now():
    from datetime import datetime, timezone

    return datetime.now(timezone.utc)
