"""SIGTERM to ``shipyard step run``: a reclaimed pod or a killed Airflow task is a preemption, not a failure.

The signal is forwarded to the step's worker, which gets the grace period
(``SHIPYARD_PREEMPTION_GRACE_S``) to save its checkpoint and stop; the step is then recorded
as cancelled (preempted), its attempt not counted, and the next ``step run`` resumes it.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from shipyard.errors import PreemptedError
from shipyard.pipeline.executor import LocalExecutor, TaskOutcome


class SigtermWatch:
    """Whether SIGTERM reached this process since the watch began."""

    def __init__(self) -> None:
        self.received = False

    def _on_sigterm(self, signum, frame) -> None:
        self.received = True


@contextmanager
def watching_sigterm() -> Iterator[SigtermWatch]:
    watch = SigtermWatch()
    try:
        previous = signal.signal(signal.SIGTERM, watch._on_sigterm)
    except ValueError:  # not the main thread: the caller's own handling stays
        yield watch
        return
    try:
        yield watch
    finally:
        signal.signal(signal.SIGTERM, previous)


def wait_for_outcomes(executor: LocalExecutor, watch: SigtermWatch, *, grace_s: float,
                      on_outcome: Callable[[TaskOutcome], None], until_idle: bool) -> bool:
    """Poll ``executor`` and hand each outcome to ``on_outcome``; once SIGTERM came, forward it to the running
    tasks and give them ``grace_s`` to stop. Returns True when a SIGTERM stopped the wait.

    ``until_idle`` waits for every running task to end; otherwise the first outcome ends the wait.
    """
    deadline = None
    while True:
        if watch.received and deadline is None:
            executor.stop_running()
            deadline = time.monotonic() + grace_s
        outcomes = executor.poll(0.2)
        for outcome in outcomes:
            on_outcome(outcome)
        if deadline is not None and (not executor.running() or time.monotonic() >= deadline):
            for task_id in executor.running():
                executor.cancel(task_id)
            return True
        if deadline is None and outcomes and (not until_idle or not executor.running()):
            return False


def preempted(step: str, *, stopped_in_time: bool, grace_s: float, error: BaseException | None) -> PreemptedError:
    if isinstance(error, PreemptedError):
        return error
    how = "stopped" if stopped_in_time else f"did not stop within {grace_s:g}s and was killed"
    return PreemptedError(f"step '{step}' was told to stop (SIGTERM) and {how}",
                          hint="run it again; a step that saves checkpoints resumes from its last one")
