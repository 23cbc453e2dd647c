import os
import sys

import pytest

from harness import (GNU_TIME, Row, interleave, load_rows, machine, measured, median_ratio, not_measured,
                     render_markdown, render_text, save_rows, timed)

needs_gnu_time = pytest.mark.skipif(not os.access(GNU_TIME, os.X_OK), reason="GNU time is not installed "
                                    "(apt-get install time; `make bench` does)")


@needs_gnu_time
def test_timed_reports_the_peak_memory_of_the_child_not_of_the_caller():
    small = timed([sys.executable, "-c", "pass"])
    big = timed([sys.executable, "-c", "b = bytearray(300 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096])"])
    assert big.peak_mb > 300 and small.peak_mb < 60
    assert small.seconds > 0


@needs_gnu_time
def test_timed_names_the_failing_command_and_its_last_words():
    with pytest.raises(RuntimeError, match=r"exited 3: .*went wrong"):
        timed([sys.executable, "-c", "import sys; print('went wrong', file=sys.stderr); sys.exit(3)"])


def test_interleave_alternates_the_sides_round_by_round():
    calls = []
    results = interleave(3, {side: (lambda side=side: calls.append(side) or len(calls)) for side in ("a", "b")})
    assert calls == ["a", "b", "a", "b", "a", "b"]
    assert results == {"a": [1, 3, 5], "b": [2, 4, 6]}


def test_median_ratio_is_the_median_of_per_round_ratios():
    # per round: 10/1, 10/5, 10/2 -> 10, 2, 5 -> median 5 (the ratio of medians would be 10/2 = 5 too,
    # so the second case tells them apart)
    assert median_ratio([10, 10, 10], [1, 5, 2]) == 5
    assert median_ratio([1, 10, 100], [1, 1, 100]) == 1  # ratio of medians: 10
    with pytest.raises(ValueError):
        median_ratio([1, 2], [1])
    with pytest.raises(ValueError):
        median_ratio([], [])


def test_measured_ratio_is_above_one_when_shipyard_is_better_either_way():
    faster = measured("t", "peer", "s", [1.0, 1.0], [3.0, 5.0], higher_is_better=False)
    more = measured("r", "peer", "req/s", [300.0, 500.0], [100.0, 100.0], higher_is_better=True)
    assert faster.ratio == 4.0 and faster.shipyard == "1.00 s" and faster.peer_value == "4.00 s"
    assert more.ratio == 4.0


def test_a_peer_not_measured_has_its_reason_and_no_figure(tmp_path):
    rows = [measured("drift", "evidently 0.7.23", "s", [1.0], [20.0], higher_is_better=False),
            not_measured("pipeline", "metaflow", "2.00 s", "pip failed: no matching distribution")]
    save_rows(tmp_path / "rows.jsonl", rows[:1])
    save_rows(tmp_path / "rows.jsonl", rows[1:])
    assert load_rows(tmp_path / "rows.jsonl") == rows
    text = render_text(rows)
    assert "not measured: pip failed: no matching distribution" in text and "20.0×" in text
    markdown = render_markdown(rows, machine(), "make bench")
    assert "| pipeline | metaflow | 2.00 s | not measured (pip failed: no matching distribution) | — |" in markdown
    assert "| drift | evidently 0.7.23 | 1.00 s | 20.00 s | 20.0× |" in markdown


def test_machine_names_the_date_architecture_cpus_and_memory():
    where = machine()
    assert where["arch"] and int(where["cpus"]) >= 1 and where["memory"].endswith("GiB")
    assert "UTC" in where["date"]
    assert f"{where['cpus']} CPUs, {where['memory']}" in render_markdown([], where, "make bench")


def test_rows_round_trip_with_an_absent_results_file(tmp_path):
    assert load_rows(tmp_path / "none.jsonl") == []
    assert Row("w", "p", "1", "2", None).ratio is None
