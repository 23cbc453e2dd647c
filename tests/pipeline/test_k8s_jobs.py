"""Steps as Kubernetes Jobs: every manifest validates against the Kubernetes OpenAPI schemas (offline), and the
step's resources, pool, priority and image land where the cluster reads them."""

import re
import time

import kubernetes_validate
import pytest

from shipyard.errors import UsageError
from shipyard.pipeline.compile import compile_spec
from shipyard.pipeline.k8s_jobs import (IMAGE_ENV, JobTarget, as_dict, job_name, priority_class, render_run,
                                        step_job)
from shipyard.spec.loader import parse_spec

KUBERNETES_VERSIONS = ("1.29", "1.33", kubernetes_validate.latest_version())

SPEC = """\
name: churn
data: {source: {type: csv, path: data/churn.csv}, target: churned}
features:
  - columns: [tenure_months, monthly_charges]
    transforms: [{kind: impute}, {kind: scale}]
model: {flavor: sklearn, estimator: LogisticRegression}
sweep:
  n_trials: 4
  metric: roc_auc
  space: {C: {type: float, low: 0.01, high: 10, log: true}}
resources: {cpu: 2, memory: 4GiB}
timeout: 20m
retries: 1
step_options:
  train: {resources: {cpu: 8, memory: 32GiB, gpu: 2, gpu_type: [A100, H100], spot: true}, retries: 3}
  sweep: {resources: {cpu: 2, gpu: 0.25, spot: required}}
  evaluate: {resources: {cpu: 1, priority: batch-high}}
steps:
  - {name: a_very_long_user_step_name_that_goes_on_and_on_and_on, function: 'my_steps:report',
     inputs: {metrics: evaluate.metrics}}
kubernetes:
  image: registry.example.com/ml/churn:2.1
  namespace: ml-batch
  service_account: pipelines
"""


def plan(text=SPEC):
    spec = parse_spec(text, source="pipeline.yaml").spec
    return spec, compile_spec(spec, spec_text=text, spec_filename="pipeline.yaml", source_digest="ab" * 32)


def target(text=SPEC, **kw):
    spec, dag = plan(text)
    return JobTarget.of(run_id="0123456789ab", pipeline=spec.name, config=spec.kubernetes, **kw), dag


def validate(manifest):
    for version in KUBERNETES_VERSIONS:
        kubernetes_validate.validate(manifest, version, strict=True)


def test_every_rendered_manifest_validates():
    job_target, dag = target()
    rendered = render_run(job_target, dag)
    assert [name for name, _ in rendered] == [
        "00-priorityclass-batch-high.yaml", "00-priorityclass-batch.yaml", "00-priorityclass-batch-low.yaml",
        "01-ingest.yaml", "02-validate.yaml", "03-split.yaml", "04-features.yaml",
        "05-sweep.yaml", "06-train.yaml", "07-evaluate.yaml", "08-register.yaml",
        "09-a_very_long_user_step_name_that_goes_on_and_on_and_on.yaml"]
    for _, manifest in rendered:
        validate(manifest)
    for node in dag.nodes:  # and the one-attempt Jobs the executor creates
        validate(as_dict(step_job(job_target, node, attempt=3)))


def test_a_schema_violation_is_caught():
    job_target, dag = target()
    manifest = as_dict(step_job(job_target, dag.node("train")))
    manifest["spec"]["template"]["spec"]["containers"][0]["resourcez"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(manifest)


def test_resources_become_requests_and_limits_with_gpus():
    job_target, dag = target()
    train = as_dict(step_job(job_target, dag.node("train")))
    container = train["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"] == {"requests": {"cpu": "8000m", "memory": str(32 * 2**30), "nvidia.com/gpu": "2"},
                                      "limits": {"memory": str(32 * 2**30), "nvidia.com/gpu": "2"}}
    pod = train["spec"]["template"]["spec"]
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
    terms = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms == [{"matchExpressions": [{"key": "nvidia.com/gpu.product", "operator": "In",
                                            "values": ["A100", "H100"]}]}]
    assert train["spec"]["template"]["metadata"]["annotations"] == {"shipyard.io/gpu-types": "A100|H100"}
    sweep = as_dict(step_job(job_target, dag.node("sweep")))["spec"]["template"]
    assert sweep["metadata"]["annotations"] == {"shipyard.io/gpu-milli": "250"}  # a share of one GPU
    assert "nvidia.com/gpu" not in sweep["spec"]["containers"][0]["resources"]["requests"]
    split = as_dict(step_job(job_target, dag.node("split")))["spec"]["template"]["spec"]
    assert split["containers"][0]["resources"] == {"requests": {"cpu": "2000m", "memory": str(4 * 2**30)},
                                                   "limits": {"memory": str(4 * 2**30)}}
    assert "tolerations" not in split


def test_spot_and_on_demand_nodes_and_priorities():
    job_target, dag = target()
    spot_toleration = {"key": "shipyard.io/spot", "operator": "Exists", "effect": "NoSchedule"}
    off_spot = {"key": "shipyard.io/spot", "operator": "NotIn", "values": ["true"]}
    on_spot = {"key": "shipyard.io/spot", "operator": "In", "values": ["true"]}
    for name in dag.names:
        pod = as_dict(step_job(job_target, dag.node(name)))["spec"]["template"]["spec"]
        assert pod["restartPolicy"] == "Never" and pod["serviceAccountName"] == "pipelines"
        spot = name in ("sweep", "train")
        assert (spot_toleration in pod.get("tolerations", [])) == spot
        expressions = [e for term in pod.get("affinity", {}).get("nodeAffinity", {}).get(
            "requiredDuringSchedulingIgnoredDuringExecution", {}).get("nodeSelectorTerms", [])
            for e in term["matchExpressions"]]
        assert (off_spot in expressions) == (not spot)
        assert (on_spot in expressions) == (name == "sweep"), "spot: required keeps the step on spot nodes"
        expected = {"sweep": "batch-low", "train": "batch-low", "evaluate": "batch-high"}.get(name, "batch")
        assert pod["priorityClassName"] == expected
    for name in ("batch-low", "batch", "batch-high"):
        priority = as_dict(priority_class(name))
        assert priority["value"] < as_dict(priority_class("serving"))["value"]
        assert priority["preemptionPolicy"] == "Never" and priority["globalDefault"] is False


def test_the_container_runs_the_step_and_reaches_the_stores():
    job_target, dag = target()
    job = as_dict(step_job(job_target, dag.node("train")))
    assert job["metadata"]["namespace"] == "ml-batch"
    assert job["metadata"]["labels"]["shipyard.io/run"] == "0123456789ab"
    assert job["spec"]["backoffLimit"] == 0
    assert job["spec"]["activeDeadlineSeconds"] == 20 * 60 * 4  # the step's 3 retries run in its pod
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "registry.example.com/ml/churn:2.1"
    assert container["command"] == ["shipyard", "step", "run", "0123456789ab", "train"]
    assert container["envFrom"] == [{"secretRef": {"name": "shipyard-stores"}}]
    assert {"name": "SHIPYARD_HOME", "value": "/shipyard"} in container["env"]
    assert job["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"] == {"claimName": "shipyard-home"}
    once = as_dict(step_job(job_target, dag.node("train"), attempt=2))
    assert once["spec"]["template"]["spec"]["containers"][0]["command"][-1] == "--once"
    assert once["spec"]["activeDeadlineSeconds"] == 20 * 60
    assert once["metadata"]["name"] == "shipyard-0123456789ab-train-2"


def test_job_names_are_dns_labels_and_distinct():
    names = {job_name("0123456789ab", step, attempt) for step in ("a_b", "a-b", "x" * 80, "Train") for attempt
             in (None, 1, 12)}
    assert len(names) == 12
    for name in names:
        assert len(name) <= 63 and re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name), name


def test_the_image_comes_from_the_spec_the_environment_or_the_caller(monkeypatch):
    text = SPEC.replace("  image: registry.example.com/ml/churn:2.1\n", "")
    monkeypatch.delenv(IMAGE_ENV, raising=False)
    with pytest.raises(UsageError, match="no container image"):
        target(text)
    monkeypatch.setenv(IMAGE_ENV, "registry.example.com/ml/base:1")
    assert target(text)[0].image == "registry.example.com/ml/base:1"
    assert target(text, image="other:3")[0].image == "other:3"
    assert target()[0].image == "registry.example.com/ml/churn:2.1"


def test_a_steps_gpu_memory_is_the_annotation_the_scheduler_extender_filters_on():
    from shipyard.scheduling.kube import pod_to_task

    text = SPEC.replace("gpu: 2, gpu_type: [A100, H100]", "gpu: 2, gpu_memory: 40GiB, gpu_type: [A100, H100]")
    job_target, dag = target(text)
    train = as_dict(step_job(job_target, dag.node("train")))
    assert train["spec"]["template"]["metadata"]["annotations"] == {"shipyard.io/gpu-types": "A100|H100",
                                                                    "shipyard.io/gpu-memory": "40960Mi"}
    validate(train)
    assert pod_to_task(train["spec"]["template"]).gpu_memory_mib == 40 * 1024


DEADLINE_SPEC = SPEC.replace("gpu_type: [A100, H100], spot: true}",
                             "gpu_type: [A100, H100], spot: true, expected_duration: 2h, deadline: 6h, "
                             "checkpoint_interval: 10m}")


def test_a_steps_deadline_is_its_due_time_from_the_runs_start():
    from shipyard.scheduling.kube import pod_to_task

    started = 1796220000.0  # 2026-12-02T14:00:00Z
    job_target, dag = target(DEADLINE_SPEC, started_s=started)
    train = dag.node("train")
    assert job_target.due_s(train) == started + 6 * 3600 and job_target.due_s(dag.node("evaluate")) is None
    manifest = as_dict(step_job(job_target, train))
    validate(manifest)
    annotations = manifest["spec"]["template"]["metadata"]["annotations"]
    assert annotations["shipyard.io/due"] == "2026-12-02T20:00:00Z"
    assert annotations["shipyard.io/checkpoint-interval-s"] == "600"
    assert "cluster-autoscaler.kubernetes.io/safe-to-evict" not in annotations
    task = pod_to_task(manifest["spec"]["template"])
    assert (task.due_s, task.duration_s, task.checkpoint_interval_s, task.spot) == (started + 21600, 7200, 600, True)
    # Without the run's start (a bare target) the deadline has nothing to count from, and no due time is written.
    bare, _ = target(DEADLINE_SPEC)
    assert "shipyard.io/due" not in as_dict(step_job(bare, train))["spec"]["template"]["metadata"]["annotations"]


def test_a_step_whose_slack_runs_out_is_created_off_spot_and_not_to_be_evicted():
    started = 1796220000.0
    job_target, dag = target(DEADLINE_SPEC, started_s=started)
    train = dag.node("train")
    # Six hours to do two: spot is fine at the start, and not once less than 2 h + 17 min are left.
    assert job_target.spot_fallback(train, now_s=started) is None
    late = started + 6 * 3600 - 7200 - 1020
    assert job_target.spot_fallback(train, now_s=late - 1) is None
    reason = job_target.spot_fallback(train, now_s=late)
    assert reason.startswith("spot node: the task is due in 137 min with 120 min of work")
    assert job_target.spot_fallback(dag.node("sweep"), now_s=late) is None, "spot: required stays on spot"

    manifest = as_dict(step_job(job_target, train, attempt=2, on_demand=True))
    validate(manifest)
    pod = manifest["spec"]["template"]["spec"]
    assert not any(t.get("key") == "shipyard.io/spot" for t in pod["tolerations"])
    expressions = [e for term in pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"] for e in term["matchExpressions"]]
    assert {"key": "shipyard.io/spot", "operator": "NotIn", "values": ["true"]} in expressions
    assert manifest["spec"]["template"]["metadata"]["annotations"][
        "cluster-autoscaler.kubernetes.io/safe-to-evict"] == "false"


def test_render_writes_a_step_off_spot_when_its_deadline_leaves_no_room_for_a_reclaim():
    tight = DEADLINE_SPEC.replace("deadline: 6h", "deadline: 130m")
    job_target, dag = target(tight, started_s=time.time())
    rendered = dict(render_run(job_target, dag))
    train = next(manifest for name, manifest in rendered.items() if name.endswith("-train.yaml"))
    assert train["spec"]["template"]["metadata"]["annotations"][
        "cluster-autoscaler.kubernetes.io/safe-to-evict"] == "false"
    assert not any(t.get("key") == "shipyard.io/spot" for t in train["spec"]["template"]["spec"]["tolerations"])
