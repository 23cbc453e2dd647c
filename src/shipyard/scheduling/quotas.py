"""Team GPU quotas: a team's running tasks may hold at most its quota of milli-GPUs."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from shipyard.errors import UsageError
from shipyard.scheduling.cluster import Cluster
from shipyard.scheduling.model import Task


@dataclasses.dataclass(frozen=True)
class Quotas:
    gpu_milli: Mapping[str, int] = dataclasses.field(default_factory=dict)
    """Team -> the most milli-GPUs its running tasks may hold; a team not named has no limit."""

    def __post_init__(self):
        negative = sorted(team for team, limit in self.gpu_milli.items() if limit < 0)
        if negative:
            raise UsageError(f"team {negative[0]!r} has a negative GPU quota", hint="a quota is 0 or more milli-GPUs")

    def exceeded(self, task: Task, cluster: Cluster) -> str | None:
        """Why the task would take its team past the quota, or None when it stays within."""
        limit = self.gpu_milli.get(task.team)
        if limit is None or not task.gpu_demand_milli:
            return None
        used = cluster.team_gpu_milli.get(task.team, 0)
        if used + task.gpu_demand_milli <= limit:
            return None
        return (f"team {task.team!r} GPU quota: {used} of {limit} milli-GPUs in use, "
                f"the task asks for {task.gpu_demand_milli}")
