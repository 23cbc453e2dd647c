"""A stable version's prediction baseline is its first day of fleet traffic, counted as back-to-back windows."""

from shipyard.serving.rollout import Window
from shipyard.serving.stable_baseline import extended, judged_against

DAY, WINDOW = 1000.0, 100.0


def _window(labels):
    return Window(requests=sum(labels.values()), errors=0, p99_ms=None, labels=labels)


def _run(windows_at):
    baseline = None
    for now, labels in windows_at:
        baseline = extended(baseline, _window(labels), now=now, window_s=WINDOW, day_s=DAY, min_requests=20)
    return baseline


def test_it_starts_with_the_first_traffic_and_adds_each_window_once():
    baseline = _run([(0, {}), (50, {"a": 10}), (100, {"a": 10}), (140, {"a": 10, "b": 10}),
                     (260, {"b": 30})])
    # 50: started; 100 and 140 overlap the window added at 50; 260: a whole window later, added
    assert baseline["started_at"] == 50 and baseline["added_until"] == 260
    assert baseline["labels"] == {"a": 10, "b": 30} and baseline["requests"] == 40
    assert not baseline["complete"] and judged_against(baseline) is None


def test_later_windows_are_compared_with_the_day_not_with_themselves():
    day = [(t, {"a": 30}) for t in range(0, 1000, 100)]
    after = [(1000, {"b": 30}), (1100, {"b": 30}), (5000, {"b": 30})]
    baseline = _run(day + after)
    assert baseline["complete"] and baseline["labels"] == {"a": 300} and baseline["added_until"] == 900
    reference = judged_against(baseline)
    assert reference.labels == {"a": 300} and reference.requests == 300


def test_a_quiet_first_day_goes_on_until_it_has_enough_predictions():
    baseline = _run([(0, {"a": 5}), (1500, {"a": 5})])
    assert not baseline["complete"] and baseline["requests"] == 10
    baseline = extended(baseline, _window({"a": 15}), now=1600, window_s=WINDOW, day_s=DAY, min_requests=20)
    assert baseline["complete"] and baseline["requests"] == 25


def test_an_unchanged_baseline_is_returned_as_is_so_nothing_is_written():
    baseline = _run([(0, {"a": 30})])
    assert extended(baseline, _window({"a": 30}), now=10, window_s=WINDOW, day_s=DAY, min_requests=20) is baseline
    assert extended(None, _window({}), now=10, window_s=WINDOW, day_s=DAY, min_requests=20) is None
    # a baseline stored before the first day was kept (no start time) starts afresh
    assert extended({"requests": 5, "labels": {"a": 5}}, _window({"b": 1}), now=10, window_s=WINDOW, day_s=DAY,
                    min_requests=20)["labels"] == {"b": 1}
