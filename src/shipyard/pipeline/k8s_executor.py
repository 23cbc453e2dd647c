"""The Kubernetes executor: each step attempt is a Job running ``shipyard step run RUN_ID STEP --once``.

The runner keeps what it does for every executor (the cache lookup, retries with backoff,
the run record); this executor creates the Job (:mod:`k8s_jobs`), polls it, streams its
pod's log and turns its end into the runner's outcome (:mod:`k8s_status`). The pod records
the step's outputs in the metadata store, where the outcome reads them back. Sweeps and the
preflight stay on the runner's machine (``runs_functions`` is False).

It needs a cluster: the kubeconfig (or the in-cluster service account) the ``kubernetes``
client finds, the PriorityClasses the steps name, and in the namespace the Secret and the
PersistentVolumeClaim the spec's ``kubernetes:`` section names (``shipyard k8s render``
writes the PriorityClasses and the Jobs).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shipyard.config import Settings
from shipyard.errors import BackendError, StepFailedError
from shipyard.pipeline.dag import StepNode, StepResources
from shipyard.pipeline.executor import TaskOutcome
from shipyard.pipeline.k8s_jobs import JobTarget, step_job
from shipyard.pipeline.k8s_status import exit_code, failure, job_phase, new_lines, stuck_reason

POLL_INTERVAL_S = 2.0
MAX_JOBS = 32


@dataclass(kw_only=True)
class _Tracked:
    job: str
    node: StepNode
    started: float
    lines_seen: int = 0


class KubernetesExecutor:
    supports_gpu = True
    runs_functions = False

    def __init__(self, *, target: JobTarget, batch_api: Any, core_api: Any, settings: Settings,
                 say: Callable[[str], None], max_jobs: int = MAX_JOBS):
        self.target = target
        self.batch = batch_api
        self.core = core_api
        self.settings = settings
        self.say = say
        self.max_jobs = max_jobs
        self.jobs: dict[str, _Tracked] = {}
        self.next_poll = 0.0

    @classmethod
    def for_run(cls, *, run_id: str, plan: Any, settings: Settings, say: Callable[[str], None]) -> KubernetesExecutor:
        from shipyard.pipeline.k8s_jobs import kubernetes_client

        client = kubernetes_client()
        from kubernetes import config

        try:
            config.load_config()
        except Exception as exc:  # the client raises several kinds for "no kubeconfig, not in a cluster"
            raise BackendError(f"no Kubernetes cluster to run the steps on: {exc}",
                               hint="point KUBECONFIG at the cluster, or run the steps locally: leave out "
                                    "--executor kubernetes") from None
        from shipyard.store import runs as store

        started = store.get_run(run_id, settings=settings).started_at
        target = JobTarget.of(run_id=run_id, pipeline=plan.pipeline, config=plan.kubernetes,
                              started_s=started.timestamp() if started else time.time())
        return cls(target=target, batch_api=client.BatchV1Api(), core_api=client.CoreV1Api(), settings=settings,
                   say=say)

    def fits(self, resources: StepResources) -> bool:
        return len(self.jobs) < self.max_jobs

    def submit(self, task_id: str, ref: str, kwargs: dict[str, Any], *, resources: StepResources,
               timeout: float | None) -> None:
        node: StepNode = kwargs["node"]
        attempt = int(task_id.rpartition("@")[2])
        fallback = self.target.spot_fallback(node)
        job = step_job(self.target, node, attempt=attempt, on_demand=fallback is not None)
        self._call("create the Job", self.batch.create_namespaced_job, namespace=self.target.config.namespace,
                   body=job)
        self.jobs[task_id] = _Tracked(job=job.metadata.name, node=node, started=time.monotonic())
        self.say(f"[{node.name}] Job {job.metadata.name} created in namespace {self.target.config.namespace}")
        if fallback is not None:
            self.say(f"[{node.name}] on on-demand nodes from now on: {fallback.removeprefix('spot node: ')}")

    def poll(self, timeout: float) -> list[TaskOutcome]:
        wait = max(0.0, min(timeout, self.next_poll - time.monotonic()))
        if wait or not self.jobs:
            time.sleep(wait if self.jobs else min(timeout, 0.05))
            return []
        self.next_poll = time.monotonic() + POLL_INTERVAL_S
        outcomes = []
        for task_id, tracked in list(self.jobs.items()):
            outcome = self._check(task_id, tracked)
            if outcome is not None:
                del self.jobs[task_id]
                outcomes.append(outcome)
        return outcomes

    def _check(self, task_id: str, tracked: _Tracked) -> TaskOutcome | None:
        namespace = self.target.config.namespace
        job = self._call("read the Job", self.batch.read_namespaced_job_status, name=tracked.job,
                         namespace=namespace)
        phase = job_phase(job.status)
        pod = self._pod(tracked)
        self._stream_log(tracked, pod)
        duration = time.monotonic() - tracked.started
        stuck = stuck_reason(pod)
        if stuck is not None and not phase.ended:
            self._delete(tracked.job)
            return TaskOutcome(task_id=task_id, status="error", duration_s=duration,
                               error=StepFailedError(f"the pod of Job {tracked.job} cannot start: {stuck}"))
        if not phase.ended:
            return None
        record = self._step_record(tracked.node.name)
        if phase.state == "succeeded" and record is not None and record.state in ("succeeded", "cached"):
            value = {"cache_key": record.cache_key, "outputs": dict(record.outputs),
                     "details": dict(record.details or {}), "cacheable": False}  # the pod's step run cached it
            return TaskOutcome(task_id=task_id, status="ok", value=value, duration_s=record.duration_s or duration)
        error = failure(phase, exit_code(pod), record.error if record is not None else None, job=tracked.job)
        return TaskOutcome(task_id=task_id, status="error", error=error, duration_s=duration)

    def _pod(self, tracked: _Tracked):
        pods = self._call("list the Job's pods", self.core.list_namespaced_pod,
                          namespace=self.target.config.namespace, label_selector=f"job-name={tracked.job}")
        return pods.items[0] if pods.items else None

    def _stream_log(self, tracked: _Tracked, pod: Any) -> None:
        if pod is None or pod.status is None or pod.status.phase == "Pending":
            return
        text = self._call("read the pod's log", self.core.read_namespaced_pod_log, name=pod.metadata.name,
                          namespace=self.target.config.namespace, container="step")
        lines, tracked.lines_seen = new_lines(text or "", tracked.lines_seen)
        for line in lines:
            self.say(f"[{tracked.node.name}] {line}")

    def _step_record(self, name: str):
        from shipyard.store import runs as store

        record = store.get_run(self.target.run_id, settings=self.settings)
        return next((step for step in record.steps if step.name == name), None)

    def _delete(self, job: str) -> None:
        self._call("delete the Job", self.batch.delete_namespaced_job, name=job,
                   namespace=self.target.config.namespace, propagation_policy="Background")

    def cancel(self, task_id: str) -> None:
        tracked = self.jobs.pop(task_id, None)
        if tracked is not None:
            self._delete(tracked.job)

    def shutdown(self, *, kill: bool = False) -> None:
        """With ``kill``, delete the Jobs still running (their pods with them)."""
        if kill:
            for task_id in list(self.jobs):
                self.cancel(task_id)
        self.jobs.clear()

    def _call(self, what: str, method: Callable, **kwargs: Any) -> Any:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        try:
            return method(**kwargs)
        except ApiException as exc:
            raise BackendError(f"Kubernetes refused to {what}: {exc.status} {exc.reason}",
                               hint=(exc.body or "")[:300] or None) from None
        except HTTPError as exc:
            raise BackendError(f"could not reach Kubernetes to {what}: {exc}") from None
