"""When a task is due, counting the ones that were late, and whether a task still has the slack for spot."""

import numpy as np
import pytest

from shipyard.errors import UsageError
from shipyard.scheduling.deadlines import Deadline, SpotFallback


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


# The slack rule for spot: one reclaim costs min(30 min, the work left) + 3 minutes, and 4 minutes are kept on top.
RULE = SpotFallback(checkpoint_interval_s=1800, provisioning_s=180, margin_s=240)


def test_a_task_goes_to_spot_only_while_its_slack_exceeds_one_reclaim_and_the_margin():
    # Two hours of work left; one more reclaim could cost 30 minutes redone and 3 minutes for a node.
    assert RULE.reclaim_cost_s(2 * 3600) == 1800 + 180
    boundary = 1800 + 180 + 240
    due = 10_000 + 7200 + boundary
    assert RULE.slack_s(due_s=due, now_s=10_000, remaining_s=7200) == boundary
    assert not RULE.may_use_spot(due_s=due, now_s=10_000, remaining_s=7200), "a slack just at the cost is not enough"
    assert RULE.may_use_spot(due_s=due + 1, now_s=10_000, remaining_s=7200)
    assert not RULE.may_use_spot(due_s=due, now_s=10_001, remaining_s=7200), "a second of waiting tips it"


def test_a_task_near_its_deadline_goes_on_demand_and_one_with_ample_slack_goes_to_spot():
    assert not RULE.may_use_spot(due_s=20_000, now_s=12_000, remaining_s=7000), "1,000 s of slack"
    assert not RULE.may_use_spot(due_s=20_000, now_s=12_000, remaining_s=9000), "already late"
    assert RULE.may_use_spot(due_s=40_000, now_s=12_000, remaining_s=7000), "21,000 s of slack"


def test_a_short_task_risks_at_most_its_own_length_on_a_reclaim():
    assert RULE.reclaim_cost_s(300) == 300 + 180
    # Five minutes of work, 12 minutes of slack: a reclaim costs at most 5 + 3 minutes, plus 4 of margin.
    assert not RULE.may_use_spot(due_s=300 + 720, now_s=0, remaining_s=300)
    assert RULE.may_use_spot(due_s=300 + 721, now_s=0, remaining_s=300)


def test_a_reclaimed_task_is_asked_again_with_the_work_it_lost_and_the_time_it_spent():
    """A 3-hour task due 3 h 50 min after its arrival: spot at first, on-demand after one reclaim."""
    due = 3 * 3600 + 3000
    assert RULE.may_use_spot(due_s=due, now_s=0, remaining_s=3 * 3600)
    # Reclaimed after 50 minutes: it checkpointed at 30, so 2.5 hours are left and 20 minutes were lost.
    now, remaining = 3000, 3 * 3600 - 1800
    assert RULE.slack_s(due_s=due, now_s=now, remaining_s=remaining) == 3000 - 1200
    assert not RULE.may_use_spot(due_s=due, now_s=now, remaining_s=remaining)
    # Reclaimed right after a checkpoint it would have lost nothing, and could stay on spot.
    assert RULE.may_use_spot(due_s=due, now_s=1800, remaining_s=3 * 3600 - 1800)


@pytest.mark.parametrize("settings, message", [
    (dict(checkpoint_interval_s=0), "the checkpoint interval is 0 s"),
    (dict(provisioning_s=-1), "the provisioning delay is -1 s"),
    (dict(margin_s=float("nan")), "the slack margin is nan s"),
])
def test_bad_fallback_settings_are_refused_with_a_hint(settings, message):
    with pytest.raises(UsageError, match=message) as caught:
        SpotFallback(**settings)
    assert caught.value.hint


def _training(**overrides):
    from shipyard.scheduling.model import Task

    fields = dict(name="train", cpu_milli=4000, num_gpu=1, spot=True, duration_s=7200, due_s=100_000,
                  checkpoint_interval_s=600)
    return Task(**{**fields, **overrides})


def test_a_task_with_a_deadline_is_judged_with_its_own_checkpoint_interval():
    rule = SpotFallback(provisioning_s=180, margin_s=240)
    task = _training()
    # 10 minutes redone and 3 for a node, 4 of margin: 1,020 s of slack needed on top of the two hours of work.
    boundary = task.due_s - 7200 - (600 + 180 + 240)
    assert rule.refusal(task, boundary - 1) is None
    refusal = rule.refusal(task, boundary)
    assert refusal == ("spot node: the task is due in 137 min with 120 min of work, and its slack of 17 min does "
                       "not cover one more reclaim (17 min with the margin); it runs on-demand")
    late = rule.refusal(task, task.due_s - 3600)
    assert late.endswith("and it is already 60 min short of finishing in time; it runs on-demand")


def test_a_task_that_does_not_checkpoint_needs_the_slack_to_start_over():
    rule = SpotFallback(provisioning_s=180, margin_s=240)
    task = _training(checkpoint_interval_s=None)
    # A reclaim can cost all two hours: spot only while the slack covers them, a node and the margin.
    boundary = task.due_s - 7200 - (7200 + 180 + 240)
    assert rule.refusal(task, boundary - 1) is None
    assert rule.refusal(task, boundary) is not None


@pytest.mark.parametrize("overrides", [dict(due_s=None), dict(duration_s=None), dict(spot=False),
                                       dict(spot_only=True)])
def test_the_rule_leaves_alone_tasks_without_a_deadline_or_without_a_choice(overrides):
    assert SpotFallback().refusal(_training(**overrides), now_s=99_999) is None
