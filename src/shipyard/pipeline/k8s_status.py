"""What a step's Job has come to, read from the Job's and its pod's status: pure functions, no cluster.

The Kubernetes executor polls a Job, hands its status here and gets back whether the
step is still pending, running, or has ended, and if it failed, the error the pod's exit
code stands for (``shipyard step run`` exits with the error tree's codes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shipyard.errors import (BackendError, DataError, InternalError, NotFoundError, RefusedError, ShipyardError,
                             SpecError, StepFailedError, UserCodeError)

ERROR_OF_EXIT_CODE: dict[int, type[ShipyardError]] = {
    2: SpecError, 3: DataError, 4: UserCodeError, 5: BackendError, 6: RefusedError, 7: StepFailedError,
    8: NotFoundError, 70: InternalError,
}
"""The kind of error each exit code of ``shipyard step run`` reports (the runner retries by kind)."""
_WAITING_FOR_GOOD = ("ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CreateContainerConfigError",
                     "CreateContainerError")


@dataclass(frozen=True, kw_only=True)
class JobPhase:
    state: str  # pending | running | succeeded | failed
    reason: str | None = None
    message: str | None = None

    @property
    def ended(self) -> bool:
        return self.state in ("succeeded", "failed")


def job_phase(status: Any) -> JobPhase:
    """The phase of a Job from its ``V1JobStatus``: only the terminal conditions end it."""
    if status is None:
        return JobPhase(state="pending")
    for condition in status.conditions or ():
        if condition.status != "True":
            continue
        if condition.type == "Complete":
            return JobPhase(state="succeeded")
        if condition.type == "Failed":
            return JobPhase(state="failed", reason=condition.reason, message=condition.message)
    if status.active:
        return JobPhase(state="running")
    return JobPhase(state="pending")


def stuck_reason(pod: Any) -> str | None:
    """Why a pod cannot start and never will without a change (a wrong image, a missing secret), if so."""
    for container in (pod.status.container_statuses or ()) if pod is not None and pod.status else ():
        waiting = container.state.waiting if container.state else None
        if waiting is not None and waiting.reason in _WAITING_FOR_GOOD:
            return f"{waiting.reason}: {waiting.message or 'the container cannot start'}"
    return None


def exit_code(pod: Any) -> int | None:
    """The step container's exit code, once it has terminated."""
    for container in (pod.status.container_statuses or ()) if pod is not None and pod.status else ():
        terminated = container.state.terminated if container.state else None
        if terminated is not None:
            return terminated.exit_code
    return None


def failure(phase: JobPhase, code: int | None, recorded: str | None, *, job: str) -> ShipyardError:
    """The error a failed Job stands for: the kind its exit code reports, the step's recorded message."""
    if phase.reason == "DeadlineExceeded":
        return StepFailedError(f"timed out: Job {job} ran past its deadline and was stopped")
    if code is None:
        why = phase.message or phase.reason or "its pod ended without an exit code"
        return StepFailedError(f"Job {job} failed before the step ran: {why}",
                               hint=f"kubectl describe job {job}")
    kind = ERROR_OF_EXIT_CODE.get(code, StepFailedError)
    if code in (137, 143):
        return StepFailedError(f"the pod of Job {job} was killed (exit code {code}: out of memory, or the node "
                               "went away)")
    return kind(recorded or f"the step exited with code {code}; `kubectl logs job/{job}` has its output")


def new_lines(text: str, seen: int) -> tuple[list[str], int]:
    """The complete lines of a pod's log past the first ``seen``, and how many have now been seen."""
    lines = text.splitlines()
    if text and not text.endswith("\n"):
        lines = lines[:-1]  # the last line is still being written
    return lines[seen:], max(seen, len(lines))
