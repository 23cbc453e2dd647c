"""The kube-scheduler extender verbs: ``filter``, ``prioritize`` and ``preempt`` on the protocol's JSON.

Requests and answers follow ``k8s.io/kube-scheduler/extender/v1``: ExtenderArgs
(``Pod``, ``Nodes``, ``NodeNames``) in, ExtenderFilterResult (``Nodes``, ``NodeNames``,
``FailedNodes``, ``FailedAndUnresolvableNodes``, ``Error``) or a HostPriorityList
(``[{"Host", "Score"}]``, scores 0–10) out; ExtenderPreemptionArgs (``Pod``,
``NodeNameToVictims``, ``NodeNameToMetaVictims``) in, ExtenderPreemptionResult
(``NodeNameToMetaVictims``) out. Those types carry no JSON tags, so the keys are the Go
field names, and Go matches them case-insensitively on decoding: so does this module.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import numpy as np

from shipyard.errors import UsageError
from shipyard.scheduling.cluster import Cluster
from shipyard.scheduling.filters import feasible, why_not
from shipyard.scheduling.fragmentation import Workload
from shipyard.scheduling.kube import node_from_object, pod_key, pod_to_task
from shipyard.scheduling.model import Task
from shipyard.scheduling.policies import POLICIES, make_policy
from shipyard.scheduling.preemption import may_preempt

MAX_EXTENDER_PRIORITY = 10
NODE_CACHE_HINT = "configure the extender with nodeCacheCapable: false, so that the scheduler sends whole Node objects"


def field(obj: Any, name: str) -> Any:
    """``obj[name]``, matching the key case-insensitively as Go's encoding/json does; None when absent."""
    if not isinstance(obj, Mapping):
        raise UsageError(f"expected a JSON object holding {name}, got {type(obj).__name__}",
                         hint="post the JSON the kube-scheduler sends")
    if name in obj:
        return obj[name]
    lowered = name.lower()
    return next((value for key, value in obj.items() if key.lower() == lowered), None)


def _by_rank(raw: np.ndarray) -> np.ndarray:
    """Scores 1–10 by rank among the distinct raw scores (the best 10), so that no outlier flattens the rest."""
    distinct = np.unique(raw)
    if len(distinct) == 1:
        return np.full(len(raw), MAX_EXTENDER_PRIORITY, dtype=np.int64)
    rank = np.searchsorted(distinct, raw) / (len(distinct) - 1)
    return 1 + np.rint(rank * (MAX_EXTENDER_PRIORITY - 1)).astype(np.int64)


class Extender:
    """Scores with one policy; FGD's workload is fixed, or learned from the last ``history`` pods it was asked about
    (each pod counted once, however many verbs it went through)."""

    def __init__(self, policy: str = "fgd-pack", *, workload: Workload | None = None, history: int = 10_000):
        if policy not in POLICIES:
            raise UsageError(f"no scheduling policy named {policy!r}", hint=f"one of {', '.join(POLICIES)}")
        self.policy_name = policy
        self.fixed_workload = workload
        self.history = history
        self.seen: OrderedDict[str, Task] = OrderedDict()

    def _task(self, args: Any) -> Task:
        pod = field(args, "Pod")
        if pod is None:
            raise UsageError("the request has no Pod", hint="post ExtenderArgs: {\"Pod\": {...}, \"Nodes\": {...}}")
        task = pod_to_task(pod)
        self.seen[task.name] = task
        self.seen.move_to_end(task.name)
        while len(self.seen) > self.history:
            self.seen.popitem(last=False)
        return task

    def _cluster(self, args: Any) -> tuple[Cluster, list[Any]]:
        nodes = field(args, "Nodes")
        if nodes is None:
            if field(args, "NodeNames") is not None:
                raise UsageError("the request names nodes without sending them (NodeNames)", hint=NODE_CACHE_HINT)
            raise UsageError("the request has no Nodes", hint="post ExtenderArgs with Nodes: {\"items\": [...]}")
        items = field(nodes, "items") or []
        if not isinstance(items, list):
            raise UsageError("Nodes.items is not a list", hint="post a NodeList: {\"items\": [Node, ...]}")
        parsed = [node_from_object(item) for item in items]
        cluster = Cluster(spec for spec, _ in parsed)
        for i, (_, free) in enumerate(parsed):
            if free:
                cluster.observe(i, **free)
        return cluster, items

    def _policy(self):
        workload = self.fixed_workload or Workload.of(self.seen.values())
        return make_policy(self.policy_name, workload=workload)

    def filter(self, args: Any) -> dict[str, Any]:
        task = self._task(args)
        cluster, items = self._cluster(args)
        now = time.time()
        fits = feasible(task, cluster, now_s=now)
        failed, unresolvable = {}, {}
        for i in np.flatnonzero(~fits):
            reason = why_not(task, cluster, int(i), now_s=now) or "does not fit"
            target = failed if reason.startswith(("insufficient", "no GPU", "fewer than")) else unresolvable
            target[cluster.nodes[i].name] = reason
        kept = [items[i] for i in np.flatnonzero(fits)]
        nodes = {**{k: v for k, v in field(args, "Nodes").items() if k.lower() != "items"}, "items": kept}
        return {"Nodes": nodes, "NodeNames": None, "FailedNodes": failed,
                "FailedAndUnresolvableNodes": unresolvable, "Error": ""}

    def prioritize(self, args: Any) -> list[dict[str, Any]]:
        task = self._task(args)
        cluster, _ = self._cluster(args)
        scores = np.zeros(len(cluster), dtype=np.int64)
        nodes = np.flatnonzero(feasible(task, cluster))
        if len(nodes):
            policy = self._policy()
            raw = policy.scores(task, cluster, policy.trial(task, cluster, nodes))
            scores[nodes] = _by_rank(raw)
        return [{"Host": node.name, "Score": int(score)} for node, score in zip(cluster.nodes, scores, strict=True)]

    def preempt(self, args: Any) -> dict[str, Any]:
        """Keep the nodes whose every proposed victim the pod may preempt; drop the others.

        With only pod UIDs (``NodeNameToMetaVictims``) the victims cannot be judged, so no node is kept.
        """
        task = self._task(args)
        victims_by_node = field(args, "NodeNameToVictims") or {}
        if not isinstance(victims_by_node, Mapping):
            raise UsageError("NodeNameToVictims is not an object", hint="map node names to {\"Pods\": [...]}")
        kept = {}
        for node, victims in victims_by_node.items():
            pods = field(victims, "Pods") or []
            if all(may_preempt(task, pod_to_task(pod)) for pod in pods):
                kept[node] = {"Pods": [{"UID": str(field(field(pod, "metadata") or {}, "uid") or pod_key(pod))}
                                       for pod in pods],
                              "NumPDBViolations": int(field(victims, "NumPDBViolations") or 0)}
        return {"NodeNameToMetaVictims": kept}

