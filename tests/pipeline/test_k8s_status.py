"""A step's Job status, read as the Kubernetes executor reads it: the client's own status models in, the
runner's phase and error out."""

from datetime import datetime, timezone

from kubernetes.client import (V1ContainerState, V1ContainerStateTerminated, V1ContainerStateWaiting,
                               V1ContainerStatus, V1JobCondition, V1JobStatus, V1ObjectMeta, V1Pod, V1PodStatus)

from shipyard.errors import DataError, SpecError, StepFailedError, UserCodeError
from shipyard.pipeline.k8s_status import exit_code, failure, job_phase, new_lines, stuck_reason
from shipyard.pipeline.stepwork import retry_delay

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def condition(kind, status="True", reason=None, message=None):
    return V1JobCondition(type=kind, status=status, reason=reason, message=message, last_transition_time=NOW)


def pod(*, terminated=None, waiting=None, phase="Running"):
    state = V1ContainerState(
        terminated=V1ContainerStateTerminated(exit_code=terminated) if terminated is not None else None,
        waiting=V1ContainerStateWaiting(reason=waiting, message="pull access denied") if waiting else None)
    status = V1ContainerStatus(name="step", image="img", image_id="", ready=False, restart_count=0, state=state)
    return V1Pod(metadata=V1ObjectMeta(name="p"), status=V1PodStatus(phase=phase, container_statuses=[status]))


def test_the_phases_of_a_job():
    assert job_phase(None).state == "pending"
    assert job_phase(V1JobStatus()).state == "pending"
    assert job_phase(V1JobStatus(active=1)).state == "running"
    # a pod that failed makes the Job's end a target first: still not over until the Failed condition
    assert job_phase(V1JobStatus(active=0, failed=1, conditions=[condition("FailureTarget")])).state == "pending"
    done = job_phase(V1JobStatus(succeeded=1, conditions=[condition("SuccessCriteriaMet"), condition("Complete")]))
    assert done.state == "succeeded" and done.ended
    failed = job_phase(V1JobStatus(failed=1, conditions=[condition("Complete", status="False"),
                                                         condition("Failed", reason="BackoffLimitExceeded")]))
    assert failed.state == "failed" and failed.reason == "BackoffLimitExceeded"


def test_a_failed_job_stands_for_the_error_its_exit_code_reports():
    phase = job_phase(V1JobStatus(failed=1, conditions=[condition("Failed", reason="BackoffLimitExceeded")]))
    user = failure(phase, exit_code(pod(terminated=4)), "RuntimeError: boom", job="j")
    assert isinstance(user, UserCodeError) and user.message == "RuntimeError: boom"
    assert retry_delay(user, attempts=1, retries=2, backoff_s=1.0) == 1.0  # user code is retried
    data = failure(phase, exit_code(pod(terminated=3)), "column x has nulls", job="j")
    assert isinstance(data, DataError)
    assert retry_delay(data, attempts=1, retries=2, backoff_s=1.0) is None  # the data must change first
    assert isinstance(failure(phase, 2, None, job="j"), SpecError)
    killed = failure(phase, exit_code(pod(terminated=137)), None, job="j")
    assert isinstance(killed, StepFailedError) and "killed" in killed.message
    unknown = failure(phase, 1, None, job="j")
    assert isinstance(unknown, StepFailedError) and "kubectl logs job/j" in unknown.message


def test_a_job_past_its_deadline_timed_out():
    phase = job_phase(V1JobStatus(failed=1, conditions=[condition("Failed", reason="DeadlineExceeded",
                                                                  message="Job was active longer than specified")]))
    error = failure(phase, None, None, job="shipyard-r-train-1")
    assert isinstance(error, StepFailedError) and error.message.startswith("timed out")


def test_a_job_whose_pod_never_ran():
    phase = job_phase(V1JobStatus(failed=1, conditions=[condition("Failed", reason="PodFailurePolicy",
                                                                  message="evicted")]))
    error = failure(phase, exit_code(pod(phase="Failed")), None, job="j")
    assert "failed before the step ran: evicted" in error.message and error.hint == "kubectl describe job j"


def test_a_pod_that_cannot_start_is_stuck():
    assert stuck_reason(pod(waiting="ImagePullBackOff")) == "ImagePullBackOff: pull access denied"
    assert stuck_reason(pod(waiting="ContainerCreating")) is None
    assert stuck_reason(pod(terminated=0)) is None
    assert stuck_reason(None) is None and exit_code(None) is None


def test_the_log_streams_whole_lines_once():
    lines, seen = new_lines("", 0)
    assert (lines, seen) == ([], 0)
    lines, seen = new_lines("loading\nstep train: attem", seen)
    assert (lines, seen) == (["loading"], 1)
    lines, seen = new_lines("loading\nstep train: attempt 1\ndone\n", seen)
    assert (lines, seen) == (["step train: attempt 1", "done"], 3)
    assert new_lines("loading\nstep train: attempt 1\ndone\n", seen) == ([], 3)
