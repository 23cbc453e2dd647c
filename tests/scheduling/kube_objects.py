"""Pods and Nodes as the kube-scheduler sends them (core/v1 JSON), for the extender's tests."""

from __future__ import annotations


def pod(name, *, gpus=0, gpu_milli=None, cpu="2", memory="4Gi", priority_class=None, spot=False, gpu_types=None,
        uid=None, team=None, annotations=None):
    annotations = dict(annotations or {})
    if gpu_milli is not None:
        annotations["shipyard.io/gpu-milli"] = str(gpu_milli)
    if gpu_types:
        annotations["shipyard.io/gpu-types"] = gpu_types
    requests = {"cpu": cpu, "memory": memory}
    limits = {"nvidia.com/gpu": str(gpus)} if gpus else {}
    spec = {"schedulerName": "default-scheduler",
            "containers": [{"name": "main", "image": "registry.example/train:1",
                            "resources": {"requests": requests, "limits": limits}}],
            "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
                             "tolerationSeconds": 300}]}
    if spot:
        spec["tolerations"].append({"key": "shipyard.io/spot", "operator": "Exists", "effect": "NoSchedule"})
    if priority_class:
        spec["priorityClassName"] = priority_class
    return {"kind": "Pod", "apiVersion": "v1",
            "metadata": {"name": name, "namespace": "ml", "uid": uid or f"uid-{name}",
                         "labels": {"shipyard.io/team": team} if team else {}, "annotations": annotations},
            "spec": spec, "status": {"phase": "Pending"}}


def node(name, *, gpus=8, product="NVIDIA-A100-SXM4-80GB", cpu="64", memory="512Gi", gpu_free=None, spot=False,
         taints=()):
    annotations = {"node.alpha.kubernetes.io/ttl": "0"}
    if gpu_free is not None:
        annotations["shipyard.io/gpu-free-milli"] = ",".join(str(g) for g in gpu_free)
    labels = {"kubernetes.io/hostname": name, "nvidia.com/gpu.product": product}
    if spot:
        labels["shipyard.io/spot"] = "true"
    allocatable = {"cpu": cpu, "memory": memory, "pods": "110", "ephemeral-storage": "100Gi"}
    if gpus:
        allocatable["nvidia.com/gpu"] = str(gpus)
    return {"kind": "Node", "apiVersion": "v1",
            "metadata": {"name": name, "labels": labels, "annotations": annotations},
            "spec": {"taints": [{"key": key, "effect": "NoSchedule"} for key in taints]},
            "status": {"capacity": allocatable, "allocatable": allocatable,
                       "conditions": [{"type": "Ready", "status": "True"}]}}


def extender_args(the_pod, nodes):
    return {"Pod": the_pod, "Nodes": {"metadata": {}, "items": nodes}, "NodeNames": None}
