"""A step's own log: its output caught at the file descriptors, its traceback, and reading a log's end."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from shipyard.config import load_settings
from shipyard.errors import NotFoundError
from shipyard.pipeline import step_logs


def test_a_step_log_keeps_printed_lines_child_output_and_the_traceback(shipyard_home, capfd):
    settings = load_settings()
    with pytest.raises(ValueError, match="bad C"):
        with step_logs.captured("run1", "train", settings):
            print("fitting with C=-1")
            os.write(2, b"written straight to fd 2\n")
            subprocess.run([sys.executable, "-c", "print('from a child process')"], check=True)
            raise ValueError("bad C")
    text = step_logs.step_log_path("run1", "train", settings).read_text()
    assert text.startswith("--- step train started ")
    for line in ("fitting with C=-1", "written straight to fd 2", "from a child process", "Traceback",
                 "ValueError: bad C"):
        assert line in text
    streams = capfd.readouterr()
    assert "fitting with C=-1" not in streams.out
    assert "fitting with C=-1" in streams.err and "from a child process" in streams.err
    assert "Traceback" not in streams.err and "--- step" not in streams.err  # the caller reports the error


def test_the_streams_are_restored_and_get_the_steps_output_afterwards(shipyard_home, capfd):
    settings = load_settings()
    with step_logs.captured("run2", "ingest", settings):
        print("reading rows")
    print("after the step")
    captured = capfd.readouterr()
    assert "after the step" in captured.out and "reading rows" not in captured.out
    assert "reading rows" in captured.err
    with step_logs.captured("run2", "ingest", settings):
        print("second attempt")
    text = step_logs.step_log_path("run2", "ingest", settings).read_text()
    assert text.count("--- step ingest started") == 2 and text.index("reading rows") < text.index("second attempt")


def test_tail_cuts_at_a_line_start_and_a_missing_log_is_empty(tmp_path):
    path = tmp_path / "x.log"
    path.write_text("".join(f"line {i}\n" for i in range(100)))
    end = step_logs.tail(path, 30)
    assert end.truncated and end.size_bytes == path.stat().st_size
    assert end.text.endswith("line 99\n") and end.text.startswith("line ") and len(end.text) <= 30
    whole = step_logs.tail(path, 10_000)
    assert not whole.truncated and whole.text == path.read_text()
    assert step_logs.tail(tmp_path / "none.log", 10) == step_logs.LogTail("", 0, False)


def test_a_name_that_could_leave_the_logs_folder_is_not_found(shipyard_home):
    settings = load_settings()
    for bad in ("../etc", "a/b", ".hidden", ""):
        with pytest.raises(NotFoundError):
            step_logs.step_log_path("run1", bad, settings)
        with pytest.raises(NotFoundError):
            step_logs.run_log_path(bad, settings)
