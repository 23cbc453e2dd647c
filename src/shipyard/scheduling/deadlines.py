"""When a task of a timed trace should be done by, so that runs of different cost can be compared at equal lateness.

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

import numpy as np

from shipyard.errors import UsageError


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
