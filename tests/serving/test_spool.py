"""The durable prediction log: a local spool written before the answer, converted to Parquet exactly once."""

from __future__ import annotations

import fcntl
import os
import shutil

import numpy as np
import pandas as pd
import pytest

from s3_server import s3_env, s3_server  # noqa: F401 (fixtures)

from shipyard.serving.prediction_log import PredictionLogWriter, read_predictions
from shipyard.serving.spool import SpooledPredictionLog, convert_segment, encode, replay_spool

from .test_prediction_log import T0, T1, record

pytestmark = pytest.mark.timeout(60)


def _records():
    return [record("a", labels=["yes", "no"], proba=[[0.2, 0.8], [0.9, 0.1]],
                   features={"age": [30, 41], "plan": ["basic", None]}),
            record("b", ts=T1, labels=["no"], proba=[[0.7, 0.3]], features={"age": [52], "plan": ["pro"]}),
            record("c", model="fraud", version="3", arm="canary", protocol="mlflow", ts=T0 + 1,
                   labels=np.array([1, 0]), features={"amount": [1.5, None]}, latency_ms=9.25)]


def _frame(root):
    return read_predictions(root).sort_values(["request_id", "row"]).reset_index(drop=True)


def _segments(spool):
    return sorted(spool.glob("*.jsonl"))


def test_spooled_predictions_read_back_exactly_as_the_buffered_log_writes_them(tmp_path):
    buffered = PredictionLogWriter(tmp_path / "buffered", flush_interval_s=3600)
    spooled = SpooledPredictionLog(tmp_path / "spooled", tmp_path / "spool", flush_interval_s=3600)
    for writer in (buffered, spooled):
        writer.start()
        assert all(writer.offer(r) for r in _records())
    assert spooled.depth == 3 and len(_segments(tmp_path / "spool")) == 1
    spooled.flush()
    assert spooled.depth == 0 and spooled.written_rows == 5
    assert [p.stat().st_size for p in _segments(tmp_path / "spool")] == [0], "only the fresh, empty segment is left"
    for writer in (buffered, spooled):
        writer.close()
    pd.testing.assert_frame_equal(_frame(tmp_path / "spooled"), _frame(tmp_path / "buffered"))
    assert not list((tmp_path / "spool").iterdir()), "a clean stop leaves nothing in the spool"


def test_each_prediction_is_in_the_spool_file_when_offer_returns(tmp_path):
    spooled = SpooledPredictionLog(tmp_path / "log", tmp_path / "spool", flush_interval_s=3600, sync=True)
    spooled.start()
    for i, r in enumerate(_records(), start=1):
        assert spooled.offer(r)
        assert _segments(tmp_path / "spool")[0].read_bytes().count(b"\n") == i
    spooled.close()


def test_a_segment_converted_twice_writes_each_prediction_once(tmp_path):
    """A gateway killed after writing a segment's Parquet files but before deleting the segment."""
    spool, log_root = tmp_path / "spool", tmp_path / "log"
    spool.mkdir()
    segment = spool / "gw-dead-1-1.00000001.jsonl"
    segment.write_bytes(b"".join(encode(r) for r in _records()))
    kept = tmp_path / "copy.jsonl"
    shutil.copy(segment, kept)
    assert convert_segment(segment, log_root).written_rows == 5
    assert not segment.exists()
    shutil.copy(kept, segment)  # the crash: the files are written, the segment is still there
    replayed = replay_spool(spool, log_root)
    assert (replayed.segments, replayed.records, replayed.written_rows) == (1, 3, 0)
    frame = _frame(log_root)
    assert len(frame) == 5 and not frame.duplicated(["request_id", "row"]).any()
    assert not list(spool.iterdir())


def test_replay_writes_what_a_dead_gateway_spooled_and_skips_a_torn_last_write(tmp_path):
    spool, log_root = tmp_path / "spool", tmp_path / "log"
    spool.mkdir()
    (spool / "gw-dead-7-1.lock").touch()
    first, second = _records()[:2], _records()[2:]
    (spool / "gw-dead-7-1.00000001.jsonl").write_bytes(b"".join(encode(r) for r in first))
    torn = encode(record("torn"))[:-10]
    (spool / "gw-dead-7-1.00000002.jsonl").write_bytes(b"".join(encode(r) for r in second) + torn)
    replayed = replay_spool(spool, log_root)
    assert (replayed.segments, replayed.records, replayed.written_rows, replayed.left) == (2, 3, 5, 0)
    assert sorted(set(_frame(log_root).request_id)) == ["a", "b", "c"]
    assert not list(spool.iterdir())


def test_replay_leaves_a_live_gateways_spool_alone(tmp_path):
    spool, log_root = tmp_path / "spool", tmp_path / "log"
    live = SpooledPredictionLog(log_root, spool, flush_interval_s=3600)
    live.start()
    assert live.offer(record("live"))
    replayed = replay_spool(spool, log_root)
    assert replayed.segments == 0 and read_predictions(log_root).empty
    assert len(_segments(spool)) == 1
    live.close()
    assert list(read_predictions(log_root).request_id) == ["live"]


def test_a_lock_held_elsewhere_is_respected(tmp_path):
    spool = tmp_path / "spool"
    spool.mkdir()
    (spool / "gw-other-1-1.00000001.jsonl").write_bytes(encode(record("x")))
    fd = os.open(spool / "gw-other-1-1.lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert replay_spool(spool, tmp_path / "log").segments == 0
    finally:
        os.close(fd)
    assert replay_spool(spool, tmp_path / "log").records == 1


def test_a_prediction_that_cannot_be_spooled_is_refused_and_counted(tmp_path):
    spooled = SpooledPredictionLog(tmp_path / "log", tmp_path / "spool", flush_interval_s=3600)
    (tmp_path / "spool").mkdir()
    os.symlink("/dev/full", tmp_path / "spool" / f"{spooled.owner}.00000001.jsonl")  # every write: no space left
    spooled.start()
    assert spooled.offer(record("lost")) is False
    assert spooled.dropped == 1 and spooled.write_errors == 1


def test_a_segment_that_is_not_a_regular_file_is_skipped_not_read(tmp_path):
    """A link to an endless device would otherwise be read until memory runs out."""
    import subprocess
    import sys

    (tmp_path / "spool").mkdir()
    segment = tmp_path / "spool" / "gw-host-1-1.00000001.jsonl"
    os.symlink("/dev/zero", segment)
    code = ("import resource, sys\n"
            "resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))\n"
            "from pathlib import Path\n"
            "from shipyard.serving.spool import read_segment\n"
            "print(read_segment(Path(sys.argv[1])))\n")
    done = subprocess.run([sys.executable, "-c", code, str(segment)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "([], 0)"
    assert "is not a regular file" in done.stderr


def test_a_spool_converts_into_object_storage_once(tmp_path, s3_server, s3_env):  # noqa: F811
    url = f"s3://{s3_env}/log"
    spooled = SpooledPredictionLog(url, tmp_path / "spool", flush_interval_s=3600)
    spooled.start()
    assert all(spooled.offer(r) for r in _records())
    spooled.close()
    buffered = PredictionLogWriter(tmp_path / "buffered", flush_interval_s=3600)
    buffered.start()
    assert all(buffered.offer(r) for r in _records())
    buffered.close()
    pd.testing.assert_frame_equal(_frame(url), _frame(tmp_path / "buffered"))
    written = s3_server.keys(s3_env)
    assert len(written) == 3 and not list((tmp_path / "spool").glob("*.jsonl"))

    segment = tmp_path / "again" / "seg.jsonl"
    segment.parent.mkdir()
    segment.write_bytes(b"".join(encode(r) for r in _records()))
    first = convert_segment(segment, url)
    segment.write_bytes(b"".join(encode(r) for r in _records()))
    second = convert_segment(segment, url)
    assert first.written_rows == 5 and second.written_rows == 0  # the objects exist: nothing written twice
