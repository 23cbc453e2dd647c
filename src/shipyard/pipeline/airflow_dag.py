"""A pipeline as an Airflow 3 DAG file: one task per step, each running ``shipyard step run``.

A sweep step is three tasks: ``<sweep>_plan`` draws the trials' parameters, ``<sweep>_trial``
is mapped over the trial indices (``.expand()``: one task instance per trial, run in parallel
on the workers or as pods) and the step's own task gathers them and records the best
(see :mod:`shipyard.pipeline.steprun`).

The file imports only Airflow and the standard library. Its first task opens the
shipyard run that the Airflow DAG run stands for (the run id is derived from the
DAG run, so each side can find the other), every step task runs one step in a
fresh ``shipyard`` process (one attempt each: Airflow retries it), and the last task
closes the run whatever happened, failing the DAG run when the pipeline failed.

Two flavours: ``process`` (the step runs on the Airflow worker, through the
standard provider's BashOperator) and ``kubernetes`` (one pod per step, through
the cncf.kubernetes provider's KubernetesPodOperator, see
:mod:`shipyard.pipeline.airflow_pod`).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from shipyard.errors import SpecError
from shipyard.pipeline.airflow_pod import PodOptions, check_pool, pod_settings
from shipyard.pipeline.k8s_jobs import checked_image
from shipyard.pipeline.dag import Dag, StepNode
from shipyard.spec.loader import LoadedSpec

FLAVOURS = ("process", "kubernetes")
BEGIN_TASK = "begin"
FINISH_TASK = "finish"
RETRY_DELAY_S = 10
GPU_QUEUE = "gpu"
"""The Airflow queue (Celery) that process-flavour steps asking for GPUs are sent to."""


@dataclass(frozen=True, kw_only=True)
class ExportOptions:
    flavour: str = "process"
    shipyard: str = "shipyard"
    """The ``shipyard`` executable on the worker (or in the image); the DAG file reads
    ``SHIPYARD_EXECUTABLE`` at parse time first."""
    env: dict[str, str] = field(default_factory=dict)
    """Extra environment for every task (``SHIPYARD_DATABASE_URL``, ``MLFLOW_TRACKING_URI``...)."""
    spec_path: str | None = None
    """Where the pipeline YAML is on the worker or in the image (default: where it is here)."""
    dag_id: str | None = None
    start_date: date = date(2026, 1, 1)
    pod: PodOptions = field(default_factory=PodOptions)


def shipyard_run_id(dag_id: str, dag_run_id: str) -> str:
    """The shipyard run an Airflow DAG run stands for: the same on every retry of the first task."""
    return hashlib.sha256(f"airflow:{dag_id}:{dag_run_id}".encode()).hexdigest()[:12]


def default_dag_id(pipeline: str) -> str:
    return "shipyard_" + re.sub(r"[^A-Za-z0-9_]", "_", pipeline)


def step_task(node: StepNode, *, flavour: str, pod_of) -> dict:
    """What the DAG file needs to know about one step, as JSON data; ``pod_of(node)`` builds its pod's."""
    task: dict = {"step": node.name, "upstream": sorted(node.upstream()) or [BEGIN_TASK],
                  "retries": node.retries, "timeout_s": node.timeout,
                  "pool_slots": max(1, math.ceil(node.resources.cpu))}
    if node.kind == "sweep":
        task["trials"] = int(node.params["sweep"]["n_trials"])
    if flavour == "process":
        if node.resources.gpu:
            task["queue"] = GPU_QUEUE
    else:
        task["pod"] = pod_of(node)
    return task


def render_dag(loaded: LoadedSpec, dag: Dag, options: ExportOptions) -> str:
    if options.flavour not in FLAVOURS:
        raise SpecError(f"'{options.flavour}' is not a task flavour", headline="invalid option",
                        hint=f"flavours: {', '.join(FLAVOURS)}")
    spec = loaded.spec
    dag_id = options.dag_id or default_dag_id(spec.name)
    spec_path = options.spec_path or str(loaded.path)
    pod_of = None
    if options.flavour == "kubernetes":
        check_pool(options.pod)
        image = checked_image(spec.kubernetes, options.pod.image)
        pod = replace(options.pod, team=options.pod.team or spec.team)

        def pod_of(node: StepNode | None) -> dict:
            return pod_settings(node, pod, image=image, config=spec.kubernetes, pipeline=spec.name,
                                env=dict(sorted(options.env.items())))

    tasks = [step_task(dag.node(name), flavour=options.flavour, pod_of=pod_of)
             for name in dag.topological_order()]
    config = {
        "dag_id": dag_id, "pipeline": spec.name, "spec_path": spec_path, "flavour": options.flavour,
        "schedule": spec.schedule, "catchup": spec.catchup, "start_date": options.start_date.isoformat(),
        "shipyard": options.shipyard, "env": dict(sorted(options.env.items())), "retry_delay_s": RETRY_DELAY_S,
        "team": spec.team, "tasks": tasks,
        "begin_pod": pod_of(None) if pod_of else None,
    }
    header = (f'"""Airflow DAG for the shipyard pipeline {spec.name!r}.\n\n'
              f"Written by `shipyard airflow export` from {Path(spec_path).name} (sha256 {loaded.digest[:16]});\n"
              'change the pipeline YAML and export again rather than editing this file.\n"""\n')
    body = _TEMPLATE.replace("__CONFIG__", json.dumps(config, indent=4))
    return header + body


_TEMPLATE = '''
from __future__ import annotations

import datetime
import json
import os
import shlex

from airflow.sdk import DAG

CONFIG = json.loads(r"""
__CONFIG__
""")
SHIPYARD = os.environ.get("SHIPYARD_EXECUTABLE") or CONFIG["shipyard"]
RUN_ID = "{{ ti.xcom_pull(task_ids='begin') }}"
"""The shipyard run this DAG run stands for, as the first task printed it."""
DUE = "{{{{ (dag_run.start_date + macros.timedelta(seconds={seconds})).strftime('%Y-%m-%dT%H:%M:%SZ') }}}}"
"""A step's due time for the scheduler extender: its deadline, counted from the DAG run's start (UTC)."""


def _timeout(task):
    return datetime.timedelta(seconds=task["timeout_s"]) if task["timeout_s"] else None


def _command(argv):
    return " ".join([shlex.quote(SHIPYARD)] + [a if a == RUN_ID else shlex.quote(a) for a in argv])


def _process_task(task_id, argv, **kwargs):
    from airflow.providers.standard.operators.bash import BashOperator

    return BashOperator(task_id=task_id, bash_command=_command(argv), env=CONFIG["env"], append_env=True, **kwargs)


def _due(pod):
    if not pod.get("deadline_s"):
        return {}
    return {"annotations": {"shipyard.io/due": DUE.format(seconds=int(pod["deadline_s"]))}}


def _pod_task(task_id, argv, pod, **kwargs):
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

    return KubernetesPodOperator(task_id=task_id, name=f"shipyard-{task_id}", namespace=pod["namespace"],
                                 image=pod["image"], cmds=[SHIPYARD], arguments=argv,
                                 pod_template_dict=pod["template"], do_xcom_push=kwargs.pop("do_xcom_push", False),
                                 get_logs=True, **_due(pod), **kwargs)


def _task(task_id, argv, pod=None, **kwargs):
    if CONFIG["flavour"] == "kubernetes":
        return _pod_task(task_id, argv, pod, **kwargs)
    return _process_task(task_id, argv, **kwargs)


def _mapped_task(task_id, argvs, pod=None, **kwargs):
    """One task instance per command line (dynamic task mapping), run in parallel."""
    if CONFIG["flavour"] == "kubernetes":
        from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

        return KubernetesPodOperator.partial(
            task_id=task_id, name=f"shipyard-{task_id}", namespace=pod["namespace"], image=pod["image"],
            cmds=[SHIPYARD], pod_template_dict=pod["template"], get_logs=True, **_due(pod), **kwargs
        ).expand(arguments=argvs)
    from airflow.providers.standard.operators.bash import BashOperator

    return BashOperator.partial(task_id=task_id, env=CONFIG["env"], append_env=True, **kwargs).expand(
        bash_command=[_command(argv) for argv in argvs])


with DAG(
    dag_id=CONFIG["dag_id"],
    description=f"shipyard pipeline {CONFIG['pipeline']}",
    schedule=CONFIG["schedule"],
    catchup=CONFIG["catchup"],
    start_date=datetime.datetime.fromisoformat(CONFIG["start_date"]).replace(tzinfo=datetime.timezone.utc),
    max_active_runs=1,
    tags=["shipyard"] + ([f"team:{CONFIG['team']}"] if CONFIG["team"] else []),
) as dag:
    begin = _task("begin", ["airflow", "begin", CONFIG["spec_path"], "--dag-id", "{{ dag.dag_id }}",
                            "--dag-run-id", "{{ run_id }}"] + (["--xcom"] if CONFIG["flavour"] == "kubernetes" else []),
                  pod=CONFIG["begin_pod"], do_xcom_push=True, retries=2,
                  retry_delay=datetime.timedelta(seconds=CONFIG["retry_delay_s"]))
    steps, entries = {}, {}
    for task in CONFIG["tasks"]:
        extra = {"queue": task["queue"]} if task.get("queue") else {}
        argv = ["step", "run", RUN_ID, task["step"], "--once"]
        common = dict(retries=task["retries"], retry_delay=datetime.timedelta(seconds=CONFIG["retry_delay_s"]),
                      retry_exponential_backoff=True, execution_timeout=_timeout(task), pool_slots=task["pool_slots"],
                      **extra)
        if task.get("trials"):  # a sweep: plan its trials, run them as mapped tasks, gather them
            plan = _task(f"{task['step']}_plan", argv + ["--plan-trials"], pod=CONFIG["begin_pod"], retries=2,
                         retry_delay=datetime.timedelta(seconds=CONFIG["retry_delay_s"]))
            trials = _mapped_task(f"{task['step']}_trial",
                                  [argv + ["--trial", str(index)] for index in range(task["trials"])],
                                  pod=task.get("pod"), **common)
            steps[task["step"]] = _task(task["step"], argv, pod=task.get("pod"), trigger_rule="all_done", **common)
            plan >> trials >> steps[task["step"]]
            entries[task["step"]] = plan
        else:
            steps[task["step"]] = entries[task["step"]] = _task(task["step"], argv, pod=task.get("pod"), **common)
    finish = _task("finish", ["runs", "finish", RUN_ID], pod=CONFIG["begin_pod"], trigger_rule="all_done",
                   retries=2, retry_delay=datetime.timedelta(seconds=CONFIG["retry_delay_s"]))
    for task in CONFIG["tasks"]:
        for upstream in task["upstream"]:
            (begin if upstream == "begin" else steps[upstream]) >> entries[task["step"]]
        steps[task["step"]] >> finish
'''
