"""The runner: validate, plan, then run a DAG on an executor.

It owns caching, retries with backoff, the run record in the metadata store and
the progress display. A failed or interrupted run can be resumed: completed steps
keep their outputs and only the rest runs again.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard.config import Settings, load_settings
from shipyard.errors import (CancelledError, InternalError, PreemptedError, RefusedError, ShipyardError,
                             StepFailedError)
from shipyard.governance.identity import current_identity
from shipyard.governance.quotas import Quota
from shipyard.pipeline.artifacts import open_artifact_store
from shipyard.pipeline.cache import cache_key
from shipyard.pipeline.dag import Dag, StepNode
from shipyard.pipeline.executor import Budget, Executor, LocalExecutor, TaskOutcome, executor_class
from shipyard.pipeline.progress import NullReporter, Reporter
from shipyard.pipeline.serialization import save_value
from shipyard.pipeline.state import PipelineRun, StepState, run_result_fields
from shipyard.pipeline.stepwork import cached_entry, one_line, remember, retry_delay, save_state, state_fields
from shipyard.store import leases
from shipyard.store import runs as store
from shipyard.store.db import connection_scope

ADMISSION_POLL_S = 0.5
"""How often a queued run asks again whether its team's quota has room."""
_PREFLIGHT = "preflight"
MAX_PREEMPTIONS = 20
"""A step preempted this many times in one run fails: something keeps stopping it."""


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    no_cache: bool = False
    from_step: str | None = None
    max_workers: int | None = None
    backoff_s: float = 0.5
    preload: tuple[str, ...] = ()
    executor: str = "local"
    """Where the steps run: a name in ``executor.EXECUTORS``; sweeps and the preflight always run here."""


@dataclass(frozen=True, kw_only=True)
class RunPlan:
    """Everything the runner needs: the DAG plus where it came from."""

    dag: Dag
    pipeline: str
    base_dir: Path
    spec_text: str = ""
    spec_path: str | None = None
    spec_digest: str = ""
    extra_modules: tuple[str, ...] = ()
    preload: tuple[str, ...] = ()
    """Modules each worker imports as it starts, before its first step."""
    preflight: tuple[str, dict[str, Any]] | None = None
    team: str | None = None
    """The team the spec names: its quota, if one is declared, admits the run."""
    model: str | None = None
    """The model the run trains (its registered name): what its cost is attributed to."""
    kubernetes: Any = None
    """The spec's ``kubernetes:`` section, for the Kubernetes executor."""


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


class Runner:
    def __init__(self, plan: RunPlan, *, options: RunOptions | None = None, settings: Settings | None = None,
                 reporter: Reporter | None = None, run_id: str | None = None, new_id: str | None = None,
                 notice: Callable[[str], None] | None = None):
        """``run_id`` resumes that run; ``new_id`` starts a new run under an id the caller chose.

        ``notice`` receives what the user should see while the run waits in its team's queue.
        """
        self.plan = plan
        self.options = options or RunOptions()
        self.settings = settings or load_settings()
        self.reporter = reporter or NullReporter()
        self.run_id = run_id or new_id or new_run_id()
        self.identity = current_identity()
        self.resuming = run_id is not None
        self.store = open_artifact_store(self.settings)
        self.executor: LocalExecutor | None = None
        self.step_executor: Executor | None = None
        self.states = {node.name: StepState(name=node.name, kind=node.kind, position=i)
                       for i, node in enumerate(plan.dag.nodes)}
        self.forced: set[str] = set()
        self.sweeps: dict[str, Any] = {}
        self.trial_seconds: dict[str, float] = {}
        """Seconds the trials of each sweep ran, summed: what the sweep used of its resources."""
        self.tasks: dict[str, str] = {}
        self.failure: ShipyardError | None = None
        self.preflight_done = plan.preflight is None
        self.owner = leases.new_owner()
        self.owned = False
        self.renew_at = 0.0
        self.changed: list[str] = []
        self.notice = notice or (lambda text: None)
        self.budget: Budget | None = None
        self.quota: Quota | None = None
        self.admission_asked = False
        self.preemptions: dict[str, int] = {}
        self.stopping = False
        self.cache_batch: tuple[contextlib.ExitStack, Any] | None = None

    # ------------------------------------------------------------------ public

    def run(self) -> PipelineRun:
        started = time.monotonic()
        if self.options.from_step:
            self.plan.dag.node(self.options.from_step)
            self.forced = self.plan.dag.downstream_of(self.options.from_step)
        self._check_resources()
        if self.options.executor != "local":
            self._steps()  # no cluster, no image: refused before the run is recorded
        self._take_ownership()
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
        status, error, unexpected = "running", None, None
        try:
            self._open_record()
            self._admit()
            self.reporter.start(self.run_id, self.plan.pipeline, [self.states[n] for n in self.plan.dag.names])
            for name in self.changed:
                self.reporter.update(self.states[name])
            self._loop()
            status = "failed" if self.failure else "succeeded"
            error = self.failure
        except _Terminated:
            status, error = "cancelled", self._stop_for_preemption()
        except KeyboardInterrupt:
            status, error = "cancelled", CancelledError("the run was interrupted")
            self._cancel_running()
        except ShipyardError as exc:
            status, error = "failed", exc
            self._cancel_running()
        except Exception as exc:
            status, unexpected = "failed", exc
            error = InternalError(f"the runner itself failed ({type(exc).__name__}: {exc})")
            self.reporter = NullReporter()  # it may be what failed; recording the run's end comes first
            self._cancel_running()
        finally:
            signal.signal(signal.SIGTERM, previous)
            if self.step_executor is not None and self.step_executor is not self.executor:
                self.step_executor.shutdown(kill=status != "succeeded")
            if self.executor is not None:
                self.executor.shutdown(kill=status != "succeeded")
        try:
            self.reporter.stop()
        finally:
            finished = self._finish(status, error, time.monotonic() - started)
        if unexpected is not None:
            raise unexpected
        return finished

    # ------------------------------------------------------------------ record

    def _take_ownership(self) -> None:
        """Create the run, or take over the one being resumed; refused while its owner is alive."""
        if self.resuming:
            leases.acquire(self.run_id, self.owner, lease_s=self.settings.run_lease_s, settings=self.settings)
        else:
            store.create_run(run_id=self.run_id, pipeline=self.plan.pipeline, spec_path=self.plan.spec_path,
                             spec_text=self.plan.spec_text, spec_digest=self.plan.spec_digest,
                             options={"no_cache": self.options.no_cache, "from_step": self.options.from_step,
                                      **self._attribution()},
                             owner=self.owner, lease_s=self.settings.run_lease_s,
                             started_by=self.identity.name)
        self.owned = True
        self.renew_at = time.monotonic() + self.settings.run_lease_s / 4

    def _attribution(self) -> dict[str, Any]:
        return attribution(self.plan)

    def _open_record(self) -> None:
        """Record every step and mark the run running at once: a reader that sees it running sees its steps."""
        if self.resuming:
            record = store.get_run(self.run_id)
            self._restore(record)
            spec = {}
            if self.plan.spec_digest and self.plan.spec_digest != record.spec_digest:
                spec = {"spec_text": self.plan.spec_text, "spec_digest": self.plan.spec_digest,
                        "spec_path": self.plan.spec_path}
            opened = dict(status="running", error=None, finished_at=None, **spec)
        else:
            opened = dict(status="running", started_at=_now())
        with connection_scope(self.settings) as connection:
            if self.resuming:
                for state in self.states.values():
                    self._save(state, connection=connection)
            elif self.owned:
                store.add_steps(self.run_id, [{"name": state.name, **state_fields(state)}
                                              for state in self.states.values()], connection=connection)
            store.update_run(self.run_id, connection=connection, **opened)

    def _restore(self, record: store.RunRecord) -> None:
        """Keep the steps completed before whose cache key is still the same; the others run again."""
        completed = {step.name: step for step in record.steps if step.state in ("succeeded", "cached")}
        for name in self.plan.dag.topological_order():
            step = completed.get(name)
            if step is None or name in self.forced:
                continue
            state, node = self.states[name], self.plan.dag.node(name)
            refs = self._input_refs(node)
            key = cache_key(node, refs) if refs is not None else None
            if key is None or key != step.cache_key:
                self.changed.append(name)
                state.note = "completed before, but it or its inputs changed since: runs again"
                continue
            state.state, state.outputs, state.cache_key = step.state, dict(step.outputs), key
            state.cache_hit, state.duration_s = step.cache_hit, step.duration_s
            state.details = dict(step.details or {})
            state.note = "done before resume"

    def _admit(self) -> None:
        """Wait in the team's queue until its quota has room for this run (nothing to do without a quota)."""
        from shipyard.governance.quotas import load_quotas

        quotas = load_quotas(self.settings)  # no file: None, and no database call
        self.quota = quotas.for_team(self.plan.team) if quotas is not None else None
        if self.quota is None:
            return
        from shipyard.governance import admission
        from shipyard.pipeline.queueing import budget_within, reservation

        machine = Budget.of_machine()
        request = reservation(self.plan.dag, [n for n in self.plan.dag.names if not self.states[n].done],
                              self.quota, machine)
        if self.resuming:
            admission.leave(self.run_id, settings=self.settings)  # a resumed run queues anew
        self.admission_asked = True
        shown = None
        while True:
            decision = admission.ask(self.run_id, team=self.plan.team, request=request, quota=self.quota,
                                     settings=self.settings)
            if decision.admitted:
                break
            text = decision.describe()
            if shown is None:
                store.update_run(self.run_id, status="queued", settings=self.settings)
            if text != shown:
                self.notice(text)
                shown = text
            deadline = time.monotonic() + ADMISSION_POLL_S
            while time.monotonic() < deadline:
                self._heartbeat()
                time.sleep(0.05)
        if shown is not None:
            started = {} if self.resuming else {"started_at": _now()}
            store.update_run(self.run_id, status="running", settings=self.settings, **started)
            self.notice(f"admitted: team {self.plan.team}'s quota has room; the run starts")
        self.budget = budget_within(request, self.quota, machine)

    def _heartbeat(self) -> None:
        """Renew the lease on the run; a run taken over by another process stops here."""
        self.reporter.tick()
        if time.monotonic() < self.renew_at:
            return
        from sqlalchemy.exc import SQLAlchemyError

        try:
            still_owned = leases.renew(self.run_id, self.owner, lease_s=self.settings.run_lease_s,
                                       settings=self.settings)
        except (SQLAlchemyError, ShipyardError):
            self.renew_at = time.monotonic() + 1.0
            return
        self.renew_at = time.monotonic() + self.settings.run_lease_s / 4
        if not still_owned:
            self.owned = False
            raise RefusedError(f"run {self.run_id} was taken over by another process while this one was stalled "
                               f"past its {self.settings.run_lease_s:.0f}s lease; this process stops",
                               headline="run taken over",
                               hint=f"`shipyard runs show {self.run_id}` shows the run's state")

    def _save(self, state: StepState, *, connection=None) -> None:
        if not self.owned:
            return
        save_state(self.run_id, state, connection=connection)

    def _set(self, state: StepState, new_state: str, *, connection=None, **fields: Any) -> None:
        state.state = new_state
        for key, value in fields.items():
            setattr(state, key, value)
        self._save(state, connection=connection)
        self.reporter.update(state)

    # ------------------------------------------------------------------ loop

    def _loop(self) -> None:
        order = self.plan.dag.topological_order()
        while True:
            self._dispatch(order)
            if not self._in_flight():
                stuck = [n for n in order if self.states[n].state == "pending"]
                if stuck and not self.failure:
                    raise InternalError(f"steps {stuck} could not be scheduled although nothing is running")
                break
            for outcome in self._poll():
                self._on_outcome(outcome)
            self._heartbeat()

    def _poll(self) -> list[TaskOutcome]:
        if self.step_executor is None or self.step_executor is self._executor():
            return self._executor().poll(0.1)
        local = self._executor().poll(0.0) if self._executor().busy else []
        return local + self.step_executor.poll(0.1)

    def _check_resources(self) -> None:
        """Refuse, before the run is recorded or anything runs, steps that need GPUs this executor lacks."""
        needing = [node for node in self.plan.dag.nodes if node.resources.gpu]
        steps_on = executor_class(self.options.executor)
        if not needing or (steps_on is not LocalExecutor and steps_on.supports_gpu):
            return  # an executor with GPUs (a cluster) places GPU steps itself
        from shipyard.scheduling.model import task_for_step

        gpus = Budget.of_machine().gpu if LocalExecutor.supports_gpu else 0
        for node in needing:
            task = task_for_step(node.name, node.resources)
            if LocalExecutor.supports_gpu and task.gpu_demand_milli <= gpus * 1000:
                continue
            asked = f"{node.resources.gpu:g} GPU" + ("" if node.resources.gpu == 1 else "s") \
                + (f" ({task.gpu_milli} milli-GPU share)" if task.per_gpu_milli < 1000 else "")
            raise RefusedError(
                f"step '{node.name}' asks for {asked} (resources.gpu), but the local executor runs steps on "
                "this machine's CPUs only; nothing ran", headline="step needs a GPU",
                hint=f"run the pipeline on an executor with GPUs, or drop resources.gpu (and gpu_memory, gpu_type) "
                     f"from step '{node.name}' to run it on CPU")

    def _in_flight(self) -> bool:
        return bool(self.tasks) or any(s.state == "pending" and s.retry_at for s in self.states.values()
                                       if not self.failure)

    def _dispatch(self, order: list[str]) -> None:
        try:
            self._dispatch_pass(order)
        except BaseException:
            self._end_cache_batch(commit=False)
            raise
        self._end_cache_batch(commit=True)

    def _cache_connection(self):
        """The one transaction in which a dispatch pass looks up and records its cache hits."""
        if self.cache_batch is None:
            stack = contextlib.ExitStack()
            self.cache_batch = (stack, stack.enter_context(connection_scope(self.settings)))
        return self.cache_batch[1]

    def _end_cache_batch(self, *, commit: bool) -> None:
        """Commit the cache hits found so far (before anything else runs or is recorded), or roll them back."""
        batch, self.cache_batch = self.cache_batch, None
        if batch is None:
            return
        stack, connection = batch
        if not commit:
            connection.rollback()
        stack.close()

    def _dispatch_pass(self, order: list[str]) -> None:
        progressed = True
        while progressed:
            progressed = False
            for name in order:
                state = self.states[name]
                if state.state != "pending" or self.failure:
                    continue
                node = self.plan.dag.node(name)
                refs = self._input_refs(node)
                if refs is None:
                    continue
                if state.cache_key is None:
                    state.cache_key = cache_key(node, refs)
                if self._try_cache(node, state):
                    progressed = True
                    continue
                if state.retry_at and time.monotonic() < state.retry_at:
                    continue
                self._end_cache_batch(commit=True)
                if not self.preflight_done:
                    self._run_preflight()
                    if self.failure:
                        return
                if node.kind == "sweep":
                    progressed |= self._drive_sweep(node, state, refs)
                elif self._steps().fits(node.resources):
                    self._submit(node, state, refs)
                    progressed = True
            if self.sweeps:
                self._end_cache_batch(commit=True)
            for name in list(self.sweeps):
                progressed |= self._drive_sweep(self.plan.dag.node(name), self.states[name], None)

    def _input_refs(self, node: StepNode) -> dict[str, dict[str, str]] | None:
        refs = {}
        for arg, ref in node.inputs.items():
            step, _, output = ref.partition(".")
            upstream = self.states[step]
            if not upstream.done:
                return None
            refs[arg] = {"digest": upstream.outputs[output]["digest"], "format": upstream.outputs[output]["format"]}
        return refs

    def _try_cache(self, node: StepNode, state: StepState) -> bool:
        if not self._may_use_cache(node):
            return False
        connection = self._cache_connection()
        entry = cached_entry(state.cache_key, artifacts=self.store, connection=connection)
        if entry is None:
            return False
        self._set(state, "cached", connection=connection, cache_hit=True, outputs=dict(entry.outputs), duration_s=0.0,
                  details=dict(entry.details or {}), note=step_note(node.kind, entry.details or {}))
        return True

    def _may_use_cache(self, node: StepNode) -> bool:
        return not self.options.no_cache and node.cacheable and node.name not in self.forced

    def _executor(self) -> LocalExecutor:
        if self.executor is None:
            preload = tuple(dict.fromkeys(self.plan.preload + self.options.preload))
            bounds = {"budget": self.budget} if self.budget is not None else {}
            self.executor = LocalExecutor(max_workers=self.options.max_workers, preload=preload, **bounds)
            if preload:  # workers that import libraries first are warmed all at once, in parallel
                self.executor.start()
        return self.executor

    def _steps(self) -> Executor:
        """The executor of the steps: the local pool, or the one ``--executor`` names."""
        if self.step_executor is None:
            if self.options.executor == "local":
                self.step_executor = self._executor()
            else:
                self.step_executor = executor_class(self.options.executor).for_run(
                    run_id=self.run_id, plan=self.plan, settings=self.settings, say=self.notice)
        return self.step_executor

    def _run_preflight(self) -> None:
        ref, kwargs = self.plan.preflight
        executor = self._executor()
        executor.submit(_PREFLIGHT, ref, kwargs, resources=_tiny(), timeout=120)
        while True:
            outcomes = executor.poll(0.1)
            self._heartbeat()
            if outcomes:
                break
        self.preflight_done = True
        outcome = outcomes[0]
        if outcome.status != "ok":
            self.failure = outcome.error

    def _submit(self, node: StepNode, state: StepState, refs: dict[str, dict[str, str]]) -> None:
        from shipyard.pipeline.stepwork import perform_step

        kwargs = {"node": node, "input_refs": refs, "run_id": self.run_id, "settings": self.settings,
                  "base_dir": str(self.plan.base_dir), "extra_modules": self.plan.extra_modules,
                  "identity": self.identity}
        task_id = f"{node.name}@{state.attempts + 1}"
        self._steps().submit(task_id, f"{perform_step.__module__}:perform_step", kwargs,
                             resources=node.resources, timeout=node.timeout)
        self.tasks[task_id] = node.name
        self._set(state, "running", attempts=state.attempts + 1, started_at=time.monotonic(), retry_at=None,
                  error=None)

    # ------------------------------------------------------------------ sweep

    def _drive_sweep(self, node: StepNode, state: StepState, refs) -> bool:
        from shipyard.pipeline.sweep import SweepController

        controller = self.sweeps.get(node.name)
        if controller is None:
            fresh = self.options.no_cache or node.name in self.forced
            controller = SweepController(node=node, train_ref=refs["train"], settings=self.settings,
                                         study_name=sweep_study_name(self.plan.pipeline, state.cache_key,
                                                                     self.run_id if fresh else None),
                                         storage_url=self.settings.database_url,
                                         max_parallel=self._trials_at_once(node))
            self.sweeps[node.name] = controller
            resumed = controller.resumed
            self._set(state, "running", attempts=state.attempts + 1, started_at=time.monotonic(),
                      note=f"resuming after {resumed} trials" if resumed else "")
        submitted = False
        executor = self._executor()
        while controller.wants_more() and controller.has_room() and executor.fits(node.resources) \
                and not self.failure:
            task_id, kwargs = controller.next_task()
            executor.submit(task_id, "shipyard.pipeline.steps.sweep:run_trial", kwargs,
                            resources=node.resources, timeout=node.timeout)
            self.tasks[task_id] = node.name
            submitted = True
        if controller.done():
            del self.sweeps[node.name]
            try:
                result = controller.result()
            except ShipyardError as exc:
                self._fail(state, exc)
                return True
            stored = save_value(self.store, result)
            store.record_artifact(stored.digest, stored.format, stored.size_bytes, stored.meta)
            details = {"best_value": result["best_value"], "best_params": result["best_params"],
                       "trials": result["n_trials"], "metric": result["metric"],
                       "trial_seconds": self.trial_seconds.get(node.name, 0.0)}
            self._succeed(node, state, {"result": stored.ref()}, details)
            return True
        return submitted

    def _trials_at_once(self, node: StepNode) -> int | None:
        if self.quota is None or self.quota.sweep_trials is None:
            return None
        from shipyard.pipeline.queueing import sweep_width

        return sweep_width(node, self.quota)

    def _sweep_note(self, name: str) -> str:
        controller = self.sweeps.get(name)
        if controller is None:
            return ""
        best = controller.best()
        count = controller.finished_count()
        text = f"{count}/{controller.sweep.n_trials} trials"
        if best is not None:
            text += f", best {controller.sweep.metric}={best['value']:.4f} (#{best['number']})"
        return text

    # ------------------------------------------------------------------ outcomes

    def _on_outcome(self, outcome: TaskOutcome) -> None:
        name = self.tasks.pop(outcome.task_id)
        node, state = self.plan.dag.node(name), self.states[name]
        if node.kind == "sweep":
            controller = self.sweeps[name]
            error = None if outcome.status == "ok" else one_line(outcome.error)
            controller.on_outcome(outcome.task_id, outcome.status == "ok", outcome.value, error)
            self.trial_seconds[name] = self.trial_seconds.get(name, 0.0) + (outcome.duration_s or 0.0)
            state.note = self._sweep_note(name)
            self.reporter.update(state)
            return
        if outcome.status == "ok":
            value = outcome.value
            remember(value, node=node, run_id=self.run_id, settings=self.settings)
            self._set(state, "succeeded", outputs=value["outputs"], details=value["details"],
                      duration_s=outcome.duration_s, note=step_note(node.kind, value["details"]))
            return
        error = outcome.error
        if isinstance(error, PreemptedError) and self._on_preempted(state, error):
            return
        delay = retry_delay(error, attempts=state.attempts, retries=node.retries, backoff_s=self.options.backoff_s)
        if delay is not None:
            self._set(state, "pending", retry_at=time.monotonic() + delay, error=one_line(error),
                      note=f"attempt {state.attempts} failed: {one_line(error)}; retrying in {delay:.1f}s")
            return
        self._fail(state, error, duration=outcome.duration_s)

    def _succeed(self, node: StepNode, state: StepState, outputs: dict[str, dict[str, str]],
                 details: dict[str, Any]) -> None:
        """A step the runner drove itself (a sweep) succeeded: cache and record it."""
        duration = time.monotonic() - state.started_at if state.started_at is not None else None
        if node.cacheable and state.cache_key:
            store.cache_put(state.cache_key, step_kind=node.kind, outputs=outputs, run_id=self.run_id,
                            details=details)
        self._set(state, "succeeded", outputs=outputs, details=details, duration_s=duration,
                  note=step_note(node.kind, details))

    def _fail(self, state: StepState, error: ShipyardError, duration: float | None = None) -> None:
        if self.failure is None:
            self.failure = attribute_error(error, state.name)
        self._set(state, "failed", error=one_line(error), duration_s=duration, note=one_line(error))

    def _on_preempted(self, state: StepState, error: PreemptedError) -> bool:
        """A step stopped after saving its checkpoint: it runs again, not counted as an attempt (False: fail it)."""
        if self.stopping:
            self._set(state, "cancelled", error=one_line(error), note="preempted: resumes from its checkpoint")
            return True
        self.preemptions[state.name] = self.preemptions.get(state.name, 0) + 1
        if self.preemptions[state.name] > MAX_PREEMPTIONS:
            return False
        self._set(state, "pending", attempts=state.attempts - 1, error=None,
                  note=f"preempted ({self.preemptions[state.name]}x): resumes from its checkpoint")
        return True

    def _stop_for_preemption(self) -> PreemptedError:
        """SIGTERM: running steps get the grace period to checkpoint and stop; then the run ends, resumable."""
        self.stopping = True
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        grace = self.settings.preemption_grace_s
        if self.executor is not None and self.tasks:
            self.executor.stop_running()
            deadline = time.monotonic() + grace
            try:
                while self.tasks and time.monotonic() < deadline:
                    for outcome in self.executor.poll(0.1):
                        self._on_outcome(outcome)
            except KeyboardInterrupt:
                pass
        stopped = sorted(set(self.tasks.values()))
        self._cancel_running()
        killed = f"; {', '.join(stopped)} did not stop within {grace:g}s and were killed" if stopped else ""
        return PreemptedError(f"the run was stopped by SIGTERM{killed}",
                              hint=f"`shipyard run --resume {self.run_id}` resumes it; checkpointed steps continue "
                                   "from their last checkpoint")

    def _cancel_running(self) -> None:
        for name in set(self.tasks.values()):
            self._set(self.states[name], "cancelled", note="cancelled")
        self.tasks.clear()

    # ------------------------------------------------------------------ result

    def _finish(self, status: str, error: ShipyardError | None, duration: float) -> PipelineRun:
        for state in self.states.values():
            if state.state == "pending" and status != "succeeded":
                self._set(state, "skipped" if status == "failed" else "cancelled")
        outputs = {name: state.outputs for name, state in self.states.items() if state.done}
        fields = {"status": status, **run_result_fields(outputs, error, settings=self.settings)}
        registration, metrics = fields["result"]["registration"], fields["result"]["evaluation"]
        if self.admission_asked and self.owned:
            from shipyard.governance import admission

            admission.leave(self.run_id, settings=self.settings)
        if self.owned:
            leases.release(self.run_id, self.owner, settings=self.settings, **fields)
            self.owned = False
        return PipelineRun(run_id=self.run_id, pipeline=self.plan.pipeline, status=status, duration_s=duration,
                           steps=tuple(self.states[n].report() for n in self.plan.dag.names),
                           error=error.render() if error else None,
                           error_kind=type(error).__name__ if error else None,
                           exit_code=error.exit_code if error else 0,
                           registration=registration, metrics=metrics, spec_path=self.plan.spec_path)


def attribution(plan: RunPlan) -> dict[str, Any]:
    """What cost attribution reads back from a run's options: the team and model, and each step's resources."""
    resources = {node.name: {"cpu": node.resources.cpu, "memory": node.resources.memory,
                             "gpu": node.resources.gpu} for node in plan.dag.nodes}
    return {"team": plan.team, "model": plan.model, "resources": resources}


def sweep_study_name(pipeline: str, key: str, fresh_for: str | None) -> str:
    """The Optuna study of a sweep step: shared by every run with its cache key, unless ``fresh_for`` names a run
    that must not reuse trials (``--no-cache``, ``--from``)."""
    return f"shipyard:{pipeline}:{key[:16]}" + (f":{fresh_for}" if fresh_for else "")


def step_note(kind: str, details: dict[str, Any]) -> str:
    """What the progress display says about a finished step of this kind."""
    if kind == "sweep" and details.get("best_value") is not None:
        return f"{details['trials']} trials, best {details['metric']}={details['best_value']:.4f}"
    if kind == "evaluate" and details.get("metrics"):
        return ", ".join(f"{k}={v}" for k, v in list(details["metrics"].items())[:3])
    if kind == "register" and details.get("model"):
        return details["model"]
    if kind == "gate" and details.get("outcome"):
        return details["outcome"]
    if kind == "validate" and details.get("rows_dropped"):
        return f"{details['rows_dropped']} rows dropped"
    if kind == "ingest" and details.get("rows") is not None:
        return f"{details['rows']} rows"
    return ""




def attribute_error(error: ShipyardError, step: str) -> ShipyardError:
    """Name the step in the error, keeping its kind (and so its exit code)."""
    if not isinstance(error, ShipyardError):
        return StepFailedError(f"step '{step}': {error}")
    error.message = f"step '{step}': {error.message}"
    error.args = (error.message,)
    return error


def _tiny():
    from shipyard.pipeline.dag import StepResources

    return StepResources(cpu=0.01, memory=0, gpu=0)


def _now():
    from datetime import datetime, timezone

    return datetime.now(timezone.utc)


class _Terminated(KeyboardInterrupt):
    """SIGTERM reached the runner: stop like a preempted machine, giving steps time to checkpoint."""


def _raise_terminated(signum, frame):
    raise _Terminated


def add_to_path(folder: Path) -> None:
    folder = str(folder)
    if folder not in sys.path:
        sys.path.insert(0, folder)
