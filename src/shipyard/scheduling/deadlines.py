"""When a task of a timed trace should be done by, so that runs of different cost can be compared at equal lateness;
and, with ``SpotFallback``, whether a checkpointing task still has the slack to run on spot.

A task that arrives at ``a`` and needs ``d`` seconds of work is due at ``a + d × (1 + slack) + allowance``.
The allowance is for a start delay any scheduler pays on an autoscaled cluster (a node being brought
up takes minutes) and for one checkpoint interval of redone work after a reclaim; the slack grows with
the task's length, because a long task meets more reclaims and a few percent on a day-long run goes
unnoticed while the same minutes on a five-minute task do not. The defaults (10%, 30 minutes) let a
task absorb one reclaim with 30-minute checkpoints and a node's provisioning, and a day-long task a
reclaim every few hours; a task that waits on a full cluster or is reclaimed over and over misses.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from shipyard.errors import UsageError
from shipyard.scheduling.model import Task


@dataclasses.dataclass(frozen=True, kw_only=True)
class Deadline:
    slack: float = 0.1
    """Share of its own duration a task may take on top of it."""
    allowance_s: float = 1800.0
    """Seconds every task may take on top of its duration and slack."""

    def __post_init__(self):
        if not self.slack >= 0:
            raise UsageError(f"the deadline slack is {self.slack}",
                             hint="give the share of a task's duration it may run late, 0 or more (0.1 is 10%)")
        if not self.allowance_s >= 0:
            raise UsageError(f"the deadline allowance is {self.allowance_s} s",
                             hint="give the seconds every task may run late, 0 or more")

    def due(self, arrival_s: np.ndarray, duration_s: np.ndarray) -> np.ndarray:
        return arrival_s + duration_s * (1.0 + self.slack) + self.allowance_s

    def misses(self, arrival_s: np.ndarray, duration_s: np.ndarray, finished_s: np.ndarray) -> int:
        """How many tasks finished after they were due; ``finished_s`` is NaN for a task that never finished."""
        late = ~(finished_s <= self.due(arrival_s, duration_s))
        return int(late.sum())


@dataclasses.dataclass(frozen=True, kw_only=True)
class SpotFallback:
    """Whether a checkpointing task with a deadline may still run on spot, or must go on-demand and stay there.

    In the spirit of "Can't Be Late" (Wu et al., NSDI '24): run on spot while the slack allows, switch
    to on-demand when it does not. A task's slack at ``now`` is ``due - now - remaining``: the time it
    can still lose and finish when due. One more reclaim can cost it the work since its last
    checkpoint — at most ``checkpoint_interval_s``, and never more than the work left — and the
    ``provisioning_s`` of the on-demand node it then falls back to. The task may go to spot while its
    slack stays above that cost plus ``margin_s``, whose default (4 minutes) covers the provisioning
    of the spot node it may wait for now (3 minutes, a cloud GPU node's typical start) and a minute of
    queueing. Otherwise it goes to on-demand capacity, and, once there, stays: its slack then only
    shrinks, so the answer would not change, and it is not moved either (a drain or a descheduler's
    eviction would cost it up to the same work since its checkpoint; in Kubernetes, mark its pod
    ``cluster-autoscaler.kubernetes.io/safe-to-evict: "false"`` at that point). Ask again whenever
    the task is to be placed (on arrival, after a reclaim, before a move): ``remaining_s`` is then the
    work left after its last checkpoint, so redone work and waiting are counted.
    """

    checkpoint_interval_s: float = 1800.0
    """How often the task saves its progress while it runs."""
    provisioning_s: float = 180.0
    """How long an on-demand node takes to be brought up and take the task."""
    margin_s: float = 240.0
    """Slack kept on top of one reclaim's cost: the start delay of a spot node being brought up, and queueing."""

    def __post_init__(self):
        if not self.checkpoint_interval_s > 0:
            raise UsageError(f"the checkpoint interval is {self.checkpoint_interval_s} s",
                             hint="give how often the task saves its progress, in seconds, above 0")
        for what, seconds in (("provisioning delay", self.provisioning_s), ("slack margin", self.margin_s)):
            if not seconds >= 0:
                raise UsageError(f"the {what} is {seconds} s", hint="give a number of seconds, 0 or more")

    @staticmethod
    def slack_s(*, due_s: float, now_s: float, remaining_s: float) -> float:
        """The seconds a task may still lose and finish by ``due_s``: negative when it will be late anyway."""
        return due_s - now_s - remaining_s

    def reclaim_cost_s(self, remaining_s: float) -> float:
        """What one more reclaim can cost: the work since the last checkpoint, and an on-demand node's start."""
        return min(self.checkpoint_interval_s, max(remaining_s, 0.0)) + self.provisioning_s

    def may_use_spot(self, *, due_s: float, now_s: float, remaining_s: float) -> bool:
        """True while the slack stays above one reclaim's cost and the margin; False: on-demand, for good."""
        return (self.slack_s(due_s=due_s, now_s=now_s, remaining_s=remaining_s)
                > self.reclaim_cost_s(remaining_s) + self.margin_s)


    def refusal(self, task: Task, now_s: float) -> str | None:
        """Why ``task`` must not be placed on spot at ``now_s``; None when it may, or when the rule does not apply.

        The rule applies to a task that may run on spot or on-demand, with a due time and an expected duration.
        Its own checkpoint interval stands in for this rule's; a task that does not checkpoint can lose all its
        work to a reclaim. The work left is taken as the whole expected duration, since a placer does not see
        how far the last checkpoint got: a resumed task leaves spot no later than it should.
        """
        if not task.spot or task.spot_only or task.due_s is None or task.duration_s is None:
            return None
        rule = dataclasses.replace(self, checkpoint_interval_s=task.checkpoint_interval_s or math.inf)
        if rule.may_use_spot(due_s=task.due_s, now_s=now_s, remaining_s=task.duration_s):
            return None
        slack = rule.slack_s(due_s=task.due_s, now_s=now_s, remaining_s=task.duration_s)
        needed = rule.reclaim_cost_s(task.duration_s) + rule.margin_s
        standing = (f"its slack of {_minutes(slack)} does not cover one more reclaim ({_minutes(needed)} with the "
                    f"margin)" if slack >= 0 else f"it is already {_minutes(-slack)} short of finishing in time")
        return (f"spot node: the task is due in {_minutes(task.due_s - now_s)} with {_minutes(task.duration_s)} of "
                f"work, and {standing}; it runs on-demand")


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds < 10 * 3600 else f"{seconds / 3600:.1f} h"
