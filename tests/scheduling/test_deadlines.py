"""When a task is due, and counting the ones that were late."""

import numpy as np
import pytest

from shipyard.errors import UsageError
from shipyard.scheduling.deadlines import Deadline


def test_a_task_is_due_after_its_duration_the_slack_on_it_and_the_allowance():
    deadline = Deadline(slack=0.1, allowance_s=1800)
    assert deadline.due(np.array([100.0]), np.array([3600.0]))[0] == pytest.approx(100 + 3960 + 1800)
    assert Deadline().due(np.array([0.0]), np.array([0.0]))[0] == 1800, "the defaults: 10% and 30 minutes"


def test_late_and_unfinished_tasks_are_misses_and_a_task_finishing_when_due_is_not():
    deadline = Deadline(slack=0.5, allowance_s=60)
    arrival = np.array([0.0, 0.0, 10.0, 10.0])
    duration = np.array([100.0, 100.0, 100.0, 100.0])
    finished = np.array([210.0, 210.5, 100.0, np.nan])
    assert deadline.misses(arrival, duration, finished) == 2


@pytest.mark.parametrize("settings, message", [
    (dict(slack=-0.1), "the deadline slack is -0.1"),
    (dict(allowance_s=-1), "the deadline allowance is -1 s"),
    (dict(slack=float("nan")), "the deadline slack is nan"),
])
def test_bad_deadline_settings_are_refused_with_a_hint(settings, message):
    with pytest.raises(UsageError, match=message) as caught:
        Deadline(**settings)
    assert caught.value.hint
