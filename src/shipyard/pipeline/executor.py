"""Executors, and the local one: a pool of worker processes with a cpu/memory budget.

Every executor has the shape of :class:`Executor`; :data:`EXECUTORS` names them, each
imported only when a run asks for it (the Kubernetes one needs an optional extra).

Workers are forked when a task needs one (or all at once with ``start``) and then
reused, so a linear pipeline of small steps pays for one fork, not one per core.

A task that crashes its worker or runs past its timeout costs only that worker,
which is killed and replaced; the runner decides whether to retry. Workers die
with the process that started them (see ``worker.die_with_parent``), so a killed
runner leaves none behind.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from shipyard.errors import ShipyardError, StepFailedError
from shipyard.pipeline.dag import StepResources


@dataclass(frozen=True, kw_only=True)
class TaskOutcome:
    task_id: str
    status: str  # ok | error | crashed | timeout | cancelled
    value: Any = None
    error: ShipyardError | None = None
    duration_s: float = 0.0


@dataclass(kw_only=True)
class _Worker:
    process: Any
    conn: Any
    task_id: str | None = None
    resources: StepResources | None = None
    started: float = 0.0
    deadline: float | None = None


@dataclass(frozen=True, kw_only=True)
class Budget:
    cpu: float
    memory: int
    gpu: int = 0

    @classmethod
    def of_machine(cls) -> Budget:
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        memory = 0
        try:
            memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError, AttributeError):
            pass
        return cls(cpu=float(cpus), memory=memory, gpu=0)


@dataclass
class LocalExecutor:
    """Runs tasks (``module:function`` + keyword arguments) on worker processes."""

    budget: Budget = field(default_factory=Budget.of_machine)
    max_workers: int | None = None
    preload: tuple[str, ...] = ()
    supports_gpu: bool = False
    runs_functions: bool = True

    def __post_init__(self) -> None:
        import multiprocessing  # not imported by a run whose every step comes from the cache

        self._ctx = multiprocessing.get_context("fork")
        self._workers: list[_Worker] = []
        self._used = [0.0, 0, 0]
        self._size = self.max_workers or max(1, int(self.budget.cpu))

    def start(self) -> None:
        """Fork the whole pool now instead of one worker at a time as tasks arrive."""
        while len(self._workers) < self._size:
            self._workers.append(self._spawn())

    def _idle_worker(self) -> _Worker | None:
        idle = next((w for w in self._workers if w.task_id is None), None)
        if idle is None and len(self._workers) < self._size:
            idle = self._spawn()
            self._workers.append(idle)
        return idle

    def _spawn(self) -> _Worker:
        from shipyard.pipeline.worker import worker_main

        parent_conn, child_conn = self._ctx.Pipe()
        runner_ends = (parent_conn, *(w.conn for w in self._workers))
        process = self._ctx.Process(target=worker_main, args=(child_conn, self.preload),
                                    kwargs={"parent_pid": os.getpid(), "runner_ends": runner_ends}, daemon=True)
        process.start()
        child_conn.close()
        return _Worker(process=process, conn=parent_conn)

    def clamp(self, resources: StepResources) -> StepResources:
        """A request bigger than the whole budget runs alone rather than never."""
        return StepResources(
            cpu=min(resources.cpu, self.budget.cpu),
            memory=min(resources.memory, self.budget.memory) if self.budget.memory else 0,
            gpu=resources.gpu,
        )

    def fits(self, resources: StepResources) -> bool:
        resources = self.clamp(resources)
        if len(self._workers) >= self._size and not any(w.task_id is None for w in self._workers):
            return False
        if self._used[0] + resources.cpu > self.budget.cpu + 1e-9:
            return False
        if self.budget.memory and self._used[1] + resources.memory > self.budget.memory:
            return False
        return self._used[2] + resources.gpu <= self.budget.gpu

    @property
    def busy(self) -> int:
        return sum(1 for w in self._workers if w.task_id is not None)

    def submit(self, task_id: str, ref: str, kwargs: dict[str, Any], *, resources: StepResources,
               timeout: float | None) -> None:
        resources = self.clamp(resources)
        worker = self._idle_worker()
        if worker is None:
            raise StepFailedError(f"no idle worker for {task_id}")
        worker.task_id = task_id
        worker.resources = resources
        worker.started = time.monotonic()
        worker.deadline = worker.started + timeout if timeout else None
        self._charge(resources, +1)
        worker.conn.send((task_id, ref, kwargs))

    def _charge(self, resources: StepResources, sign: int) -> None:
        self._used[0] += sign * resources.cpu
        self._used[1] += sign * resources.memory
        self._used[2] += sign * resources.gpu

    def _release(self, worker: _Worker) -> None:
        if worker.resources is not None:
            self._charge(worker.resources, -1)
        worker.task_id = None
        worker.resources = None
        worker.deadline = None

    def _replace(self, worker: _Worker) -> None:
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(timeout=5)
        worker.conn.close()
        self._workers[self._workers.index(worker)] = self._spawn()

    def poll(self, timeout: float) -> list[TaskOutcome]:
        """Wait up to ``timeout`` seconds and return the tasks that ended."""
        busy = [w for w in self._workers if w.task_id is not None]
        if not busy:
            time.sleep(min(timeout, 0.05))
            return []
        now = time.monotonic()
        deadlines = [w.deadline - now for w in busy if w.deadline is not None]
        wait_for = max(0.0, min([timeout, *deadlines]))
        handles = [w.conn for w in busy] + [w.process.sentinel for w in busy]
        from multiprocessing.connection import wait

        ready = set(wait(handles, timeout=wait_for))
        outcomes = []
        for worker in busy:
            if worker.conn in ready:
                outcomes.append(self._receive(worker))
            elif worker.process.sentinel in ready:
                outcomes.append(self._crashed(worker))
            elif worker.deadline is not None and time.monotonic() >= worker.deadline:
                outcomes.append(self._timed_out(worker))
        return outcomes

    def _receive(self, worker: _Worker) -> TaskOutcome:
        duration = time.monotonic() - worker.started
        task_id = worker.task_id
        try:
            got_id, status, payload = worker.conn.recv()
        except (EOFError, OSError):
            return self._crashed(worker)
        self._release(worker)
        if status == "ok":
            return TaskOutcome(task_id=got_id, status="ok", value=payload, duration_s=duration)
        return TaskOutcome(task_id=task_id, status="error", error=payload, duration_s=duration)

    def _crashed(self, worker: _Worker) -> TaskOutcome:
        duration = time.monotonic() - worker.started
        task_id = worker.task_id
        worker.process.join(timeout=1)
        code = worker.process.exitcode
        self._release(worker)
        self._replace(worker)
        reason = _describe_exit(code)
        return TaskOutcome(task_id=task_id, status="crashed", duration_s=duration,
                           error=StepFailedError(f"the worker process died while running it ({reason})"))

    def _timed_out(self, worker: _Worker) -> TaskOutcome:
        duration = time.monotonic() - worker.started
        task_id = worker.task_id
        self._release(worker)
        self._replace(worker)
        return TaskOutcome(task_id=task_id, status="timeout", duration_s=duration,
                           error=StepFailedError(f"timed out after {duration:.1f}s and was killed"))

    def cancel(self, task_id: str) -> None:
        for worker in self._workers:
            if worker.task_id == task_id:
                self._release(worker)
                self._replace(worker)

    def stop_running(self) -> None:
        """Ask every running task to checkpoint and stop (SIGTERM to its worker); ``poll`` reports how each ended."""
        for worker in self._workers:
            if worker.task_id is not None and worker.process.is_alive():
                os.kill(worker.process.pid, signal.SIGTERM)

    def running(self) -> list[str]:
        return [w.task_id for w in self._workers if w.task_id is not None]

    def shutdown(self, *, kill: bool = False) -> None:
        for worker in self._workers:
            if kill or worker.task_id is not None:
                if worker.process.is_alive():
                    worker.process.kill()
            else:
                try:
                    worker.conn.send(None)
                except OSError:
                    pass
        for worker in self._workers:
            worker.process.join(timeout=2)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(timeout=2)
            worker.conn.close()
        self._workers.clear()
        self._used = [0.0, 0, 0]

    def __enter__(self) -> LocalExecutor:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.shutdown(kill=exc_info[0] is not None)


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "no exit code"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class Executor(Protocol):
    """Runs the runner's tasks somewhere and reports how they ended.

    ``supports_gpu``: it can give a step GPUs. ``runs_functions``: it runs any ``module:function`` task
    (the preflight, sweep trials); an executor without it runs pipeline steps only, by run id and name, and
    the runner keeps the rest on a local pool.
    """

    supports_gpu: bool
    runs_functions: bool

    def fits(self, resources: StepResources) -> bool: ...

    def submit(self, task_id: str, ref: str, kwargs: dict[str, Any], *, resources: StepResources,
               timeout: float | None) -> None: ...

    def poll(self, timeout: float) -> list[TaskOutcome]: ...

    def shutdown(self, *, kill: bool = False) -> None: ...


EXECUTORS = {"local": "shipyard.pipeline.executor:LocalExecutor",
             "kubernetes": "shipyard.pipeline.k8s_executor:KubernetesExecutor"}


def executor_class(name: str) -> type:
    from shipyard.errors import UsageError
    from shipyard.pipeline.worker import resolve_callable

    if name not in EXECUTORS:
        raise UsageError(f"there is no executor '{name}'", hint=f"executors: {', '.join(EXECUTORS)}")
    return resolve_callable(EXECUTORS[name])
