"""The prediction log: Hive-partitioned Parquet written by a background thread, read back with DuckDB."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from s3_server import s3_env, s3_server  # noqa: F401 (fixtures)

from shipyard.serving.prediction_log import PredictionLogWriter, PredictionRecord, read_predictions

pytestmark = pytest.mark.timeout(60)

T0 = datetime(2024, 5, 1, 10, 15, tzinfo=timezone.utc).timestamp()
T1 = T0 + 3600
HOUR0, HOUR1 = "2024-05-01T10", "2024-05-01T11"


def record(request_id: str, *, model: str = "churn", version: str = "1", ts: float = T0, arm: str = "stable",
           protocol: str = "v2", latency_ms: float = 2.5, labels=("yes",), proba=None, features=None) -> PredictionRecord:
    labels = np.asarray(labels)
    outputs = {"predict": labels}
    if proba is not None:
        outputs["predict_proba"] = np.asarray(proba, dtype=np.float64)
    if features is None:
        features = {"age": [30 + i for i in range(len(labels))]}
    return PredictionRecord(request_id=request_id, timestamp=ts, model=model, version=version, arm=arm,
                            protocol=protocol, latency_ms=latency_ms, features=features, outputs=outputs)


def parquet_files(root):
    return sorted(root.rglob("*.parquet"))


def test_records_land_in_model_and_hour_partitions_and_read_back(tmp_path):
    writer = PredictionLogWriter(tmp_path, flush_interval_s=3600)
    writer.start()
    assert writer.offer(record("a", labels=["yes", "no"], proba=[[0.2, 0.8], [0.9, 0.1]],
                               features={"age": [30, 41], "plan": ["basic", "pro"]}))
    assert writer.offer(record("b", ts=T1, labels=["no"], proba=[[0.7, 0.3]],
                               features={"age": [52], "plan": [None]}, latency_ms=4.0))
    assert writer.offer(record("c", model="fraud", version="3", arm="canary", protocol="mlflow", ts=T0 + 1,
                               labels=np.array([1, 0, 1]), features={"amount": [1.5, None, 3.0]}, latency_ms=9.25))
    writer.close()

    files = parquet_files(tmp_path)
    assert {f.parent.relative_to(tmp_path).as_posix() for f in files} == {
        f"model=churn/hour={HOUR0}", f"model=churn/hour={HOUR1}", f"model=fraud/hour={HOUR0}"}
    assert all(re.fullmatch(r"part-\d{8}T\d{12}-\d+-\d+\.parquet", f.name) for f in files)
    schema = pq.read_schema(files[0])
    assert "model" not in schema.names and "hour" not in schema.names
    assert schema.field("row").type == pa.int32()
    assert schema.field("timestamp").type == pa.timestamp("us", tz="UTC")
    assert schema.field("probabilities").type == pa.list_(pa.float64())
    assert writer.written_rows == 6 and writer.write_errors == 0 and writer.dropped == 0

    df = read_predictions(tmp_path)
    assert list(zip(df.request_id, df.row, df.model, df.hour, df.version, df.arm, df.protocol, df.prediction)) == [
        ("a", 0, "churn", HOUR0, "1", "stable", "v2", "yes"),
        ("a", 1, "churn", HOUR0, "1", "stable", "v2", "no"),
        ("c", 0, "fraud", HOUR0, "3", "canary", "mlflow", "1"),
        ("c", 1, "fraud", HOUR0, "3", "canary", "mlflow", "0"),
        ("c", 2, "fraud", HOUR0, "3", "canary", "mlflow", "1"),
        ("b", 0, "churn", HOUR1, "1", "stable", "v2", "no"),
    ]
    assert df.latency_ms.tolist() == [2.5, 2.5, 9.25, 9.25, 9.25, 4.0]
    assert df.timestamp.iloc[0] == pd.Timestamp(T0, unit="s", tz="UTC")
    assert df.timestamp.iloc[-1] == pd.Timestamp(T1, unit="s", tz="UTC")
    assert [list(p) for p in df.probabilities.iloc[[0, 1, 5]]] == [[0.2, 0.8], [0.9, 0.1], [0.7, 0.3]]
    assert df.probabilities.iloc[2:5].isna().all()
    assert df.feature_age.iloc[[0, 1, 5]].tolist() == [30, 41, 52]
    assert df.feature_plan.iloc[0] == "basic" and pd.isna(df.feature_plan.iloc[5])
    assert df.feature_amount.iloc[2] == 1.5 and pd.isna(df.feature_amount.iloc[3])

    fraud = read_predictions(tmp_path, model="fraud")
    assert fraud.request_id.tolist() == ["c", "c", "c"] and set(fraud.model) == {"fraud"}

    with duckdb.connect() as con:
        counts = con.execute(
            "SELECT model, hour, count(*), avg(latency_ms) FROM read_parquet(?, hive_partitioning = true,"
            " union_by_name = true) GROUP BY ALL ORDER BY ALL", [str(tmp_path / "*" / "*" / "*.parquet")]).fetchall()
    assert counts == [("churn", HOUR0, 2, 2.5), ("churn", HOUR1, 1, 4.0), ("fraud", HOUR0, 3, 9.25)]


def test_model_name_with_slash_is_percent_encoded(tmp_path):
    writer = PredictionLogWriter(tmp_path)
    writer.start()
    writer.offer(record("a", model="team/churn"))
    writer.close()

    assert [f.parent.parent.name for f in parquet_files(tmp_path)] == ["model=team%2Fchurn"]
    assert read_predictions(tmp_path).model.tolist() == ["team/churn"]
    assert read_predictions(tmp_path, model="team/churn").request_id.tolist() == ["a"]


def test_versions_with_different_features_get_own_files_and_union_by_name(tmp_path):
    writer = PredictionLogWriter(tmp_path, flush_interval_s=3600)
    writer.start()
    writer.offer(record("v1", version="1", features={"age": [30], "plan": ["pro"]}))
    writer.offer(record("v2", version="2", ts=T0 + 1, features={"age": [40], "tenure": [7.5]}))
    writer.flush()

    files = parquet_files(tmp_path)
    assert len(files) == 2 and len({f.parent for f in files}) == 1
    assert sorted(tuple(pq.read_schema(f).names[9:]) for f in files) == [
        ("feature_age", "feature_plan"), ("feature_age", "feature_tenure")]

    df = read_predictions(tmp_path)
    assert df.request_id.tolist() == ["v1", "v2"] and df.version.tolist() == ["1", "2"]
    assert df.feature_age.tolist() == [30, 40]
    assert df.feature_plan.iloc[0] == "pro" and pd.isna(df.feature_plan.iloc[1])
    assert pd.isna(df.feature_tenure.iloc[0]) and df.feature_tenure.iloc[1] == 7.5
    writer.close()


def test_full_queue_drops_without_blocking_and_keeps_what_it_accepted(tmp_path):
    writer = PredictionLogWriter(tmp_path, max_queue=10)
    accepted = [writer.offer(record(f"r{i:02d}")) for i in range(25)]

    assert accepted == [True] * 10 + [False] * 15
    assert writer.dropped == 15 and writer.depth == 10
    assert writer.written_rows == 0 and parquet_files(tmp_path) == []

    writer.start()
    writer.close()
    assert writer.written_rows == 10 and writer.depth == 0
    assert read_predictions(tmp_path).request_id.tolist() == [f"r{i:02d}" for i in range(10)]


def test_close_drains_every_queued_record(tmp_path):
    writer = PredictionLogWriter(tmp_path, max_queue=5_000, flush_rows=10**9, flush_interval_s=3600)
    writer.start()
    expected = set()
    for i in range(2_000):
        rows = 3 if i % 7 == 0 else 1
        assert writer.offer(record(f"r{i:04d}", ts=T0 + i, labels=["yes"] * rows))
        expected |= {(f"r{i:04d}", row) for row in range(rows)}
    assert writer.written_rows == 0

    writer.close()
    df = read_predictions(tmp_path)
    assert writer.written_rows == len(expected) == len(df)
    assert set(zip(df.request_id, df.row)) == expected
    assert list(tmp_path.rglob("*.tmp")) == []
    assert writer.dropped == 0

    assert writer.offer(record("late")) is False
    assert writer.dropped == 1
    writer.close()
    assert len(read_predictions(tmp_path)) == len(expected)


def test_flush_makes_records_readable_while_writer_runs(tmp_path):
    writer = PredictionLogWriter(tmp_path, flush_rows=10**9, flush_interval_s=3600)
    assert read_predictions(tmp_path).empty
    writer.start()
    for i in range(5):
        writer.offer(record(f"a{i}", ts=T0 + i))
    writer.flush()
    assert read_predictions(tmp_path).request_id.tolist() == [f"a{i}" for i in range(5)]

    writer.offer(record("b0", ts=T0 + 10))
    writer.flush()
    assert read_predictions(tmp_path).request_id.tolist() == [*(f"a{i}" for i in range(5)), "b0"]
    writer.close()


def test_write_error_keeps_thread_and_records_for_retry(tmp_path):
    blocker = tmp_path / "model=churn"
    blocker.write_text("not a directory")
    writer = PredictionLogWriter(tmp_path, flush_interval_s=0.05)
    writer.start()
    writer.offer(record("a"))
    with pytest.raises(TimeoutError):
        writer.flush(timeout_s=0.5)
    assert writer.write_errors >= 1 and writer.written_rows == 0

    blocker.unlink()
    writer.offer(record("b", ts=T0 + 1))
    writer.flush()
    assert read_predictions(tmp_path).request_id.tolist() == ["a", "b"]
    writer.close()
    assert writer.discarded == 0


def test_the_log_in_object_storage_reads_back_as_the_local_one(tmp_path, s3_server, s3_env):  # noqa: F811
    from shipyard.monitoring.window import read_window

    url = f"s3://{s3_env}/predictions"
    records = [record("a", labels=["yes", "no"], proba=[[0.2, 0.8], [0.9, 0.1]],
                      features={"age": [30, 41], "plan": ["basic", "pro"]}),
               record("b", ts=T1, labels=["no"], proba=[[0.7, 0.3]], features={"age": [52], "plan": [None]}),
               record("c", model="fraud", version="3", ts=T0 + 1, labels=np.array([1, 0]),
                      features={"amount": [1.5, None]})]
    for root in (tmp_path, url):
        writer = PredictionLogWriter(root, flush_interval_s=3600)
        writer.start()
        assert all(writer.offer(r) for r in records)
        writer.close()
        assert writer.written_rows == 5 and writer.write_errors == 0
    keys = s3_server.keys(s3_env)
    assert sorted(k.rsplit("/", 1)[0] for k in keys) == [f"predictions/model=churn/hour={HOUR0}",
                                                         f"predictions/model=churn/hour={HOUR1}",
                                                         f"predictions/model=fraud/hour={HOUR0}"]
    pd.testing.assert_frame_equal(read_predictions(url), read_predictions(tmp_path))
    pd.testing.assert_frame_equal(read_predictions(url, model="fraud"), read_predictions(tmp_path, model="fraud"))
    assert read_predictions(f"s3://{s3_env}/nothing-here").empty
    from shipyard.serving.usage import served_requests

    day = (datetime.fromtimestamp(T0 - 86400, timezone.utc), datetime.fromtimestamp(T1 + 86400, timezone.utc))
    served = served_requests(url, since=day[0], until=day[1])
    assert served == served_requests(tmp_path, since=day[0], until=day[1]) == {"churn": {"2024-05-01": 2},
                                                                               "fraud": {"2024-05-01": 1}}

    start, end = datetime.fromtimestamp(T0 - 60, timezone.utc), datetime.fromtimestamp(T0 + 60, timezone.utc)
    remote, local = (read_window(root, "churn", start=start, end=end) for root in (url, tmp_path))
    assert remote.files == local.files == 1 and remote.frame.request_id.tolist() == ["a", "a"]
    pd.testing.assert_frame_equal(remote.frame, local.frame)

    torn = f"predictions/model=churn/hour={HOUR0}/part-torn.parquet"
    s3_server.client().put_object(Bucket=s3_env, Key=torn, Body=b"PAR1 not a parquet file")
    damaged = read_window(url, "churn", start=start, end=end)
    assert damaged.files == 1 and [s["file"] for s in damaged.skipped] == [f"s3://{s3_env}/{torn}"]


def test_the_table_is_built_column_by_column_with_a_pause_between():
    from shipyard.serving.prediction_log import records_table

    records = [record("a", labels=("yes", "no"), proba=[[0.2, 0.8], [0.9, 0.1]],
                      features={"age": [30, 31], "plan": ["basic", None]}),
               record("b", ts=T1, features={"age": [40], "plan": ["premium"]})]
    pauses = []
    paused = records_table(records, ("age", "plan"), pause=lambda: pauses.append(1))
    assert len(pauses) == paused.num_columns == 11
    assert paused.equals(records_table(records, ("age", "plan")))
    assert paused.column("row").to_pylist() == [0, 1, 0] and paused.column("request_id").to_pylist() == ["a", "a", "b"]
    assert paused.column("probabilities").to_pylist() == [[0.2, 0.8], [0.9, 0.1], None]
    assert paused.column("feature_plan").to_pylist() == ["basic", None, "premium"]
