"""Audit archives in Parquet and JSON Lines hold every field and hash, so the archive verifies on its own."""

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from shipyard.cli import main as shipyard
from shipyard.governance.audit import Event, GENESIS, append_event, event_hash, read_events
from shipyard.governance.audit_export import EXPORTED, export_events, read_export


def _fill(n):
    for i in range(1, n + 1):
        append_event(actor="ci", action="registered", model="churn", version=i, to_state="candidate",
                     reason=None if i % 2 else "nightly", details={"run": f"r{i}", "metrics": {"auc": 0.5 + i / 100}})


@pytest.mark.parametrize("format", ["parquet", "jsonl"])
def test_an_export_round_trips_and_its_chain_verifies_alone(database_url, tmp_path, format):
    _fill(6)
    export = export_events(str(tmp_path / "archive"), format=format)
    assert (export.first_seq, export.last_seq, export.events) == (1, 6, 6)
    assert Path(export.location).name == f"audit-000000000001-000000000006.{format}"
    rows = read_export(Path(export.location).read_bytes(), format)
    previous = GENESIS
    for row, event in zip(rows, read_events()[:6], strict=True):
        rebuilt = Event(**row)
        assert rebuilt == event
        assert rebuilt.prev_hash == previous and event_hash(rebuilt) == row["hash"]
        previous = row["hash"]
    recorded = read_events()[-1]
    assert recorded.action == EXPORTED and recorded.details["sha256"] == export.sha256
    assert recorded.details["last_hash"] == rows[-1]["hash"]


def test_before_bounds_the_export(database_url, tmp_path):
    _fill(3)
    middle = read_events()[1].time
    export = export_events(str(tmp_path), format="jsonl", before=middle)
    assert (export.first_seq, export.last_seq) == (1, 1)
    assert export_events(str(tmp_path), before=datetime(2000, 1, 1, tzinfo=timezone.utc)) is None


def test_the_export_command(database_url, tmp_path, capsys):
    _fill(2)
    tomorrow = (datetime.now(timezone.utc) + timedelta(days=1)).date().isoformat()
    assert shipyard(["audit", "export", "--format", "parquet", "--out", str(tmp_path / "a"),
                     "--before", tomorrow]) == 0
    assert "exported events 1 to 2 (2)" in capsys.readouterr().out
    assert shipyard(["audit", "export", "--format", "csv", "--out", str(tmp_path / "b")]) == 2
    assert "--format csv is not an export format; use parquet or jsonl" in capsys.readouterr().err
    assert shipyard(["audit", "export", "--out", str(tmp_path / "b"), "--before", "last week"]) == 2
    assert "--before 'last week' is not an ISO date or time" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()
