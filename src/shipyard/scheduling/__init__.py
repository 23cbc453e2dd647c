"""The scheduling plane: placing jobs on a node inventory, GPU- and fragmentation-aware.

``place(task, cluster, policy) -> Placement | Queued`` filters the nodes (capacity, GPU type,
taints, spot) and takes the best by the policy's score; ``commit`` applies it. Quotas and
priorities with preemption, trace replays (``simulator``; in time with spot capacity, ``spot``; on an
autoscaled pool billed by node-hours, ``autoscaled``, with the autoscaler's drains and a
descheduler's compaction, ``consolidation``; deadlines, and the slack a task needs to stay on spot,
``deadlines``) and the kube-scheduler extender (``extender``, served by ``extender_app``) are built
on the same functions.
"""

from shipyard.scheduling.cluster import Allocation, Cluster
from shipyard.scheduling.fragmentation import FragmentationMeter, Workload
from shipyard.scheduling.model import Node, Task
from shipyard.scheduling.placement import Placement, Queued, commit, place
from shipyard.scheduling.policies import POLICIES, make_policy
from shipyard.scheduling.preemption import Preemption, may_preempt, plan_preemption, preempt
from shipyard.scheduling.quotas import Quotas

__all__ = ["POLICIES", "Allocation", "Cluster", "FragmentationMeter", "Node", "Placement", "Preemption", "Queued",
           "Quotas", "Task", "Workload", "commit", "make_policy", "may_preempt", "place", "plan_preemption",
           "preempt"]
