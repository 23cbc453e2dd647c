"""Pruning keeps the retention (default seven years), and deletes only exported, anchored events, so the
log still verifies afterwards; deleting early is refused and changes nothing."""

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import text

from shipyard.cli import main as shipyard
from shipyard.config import load_settings
from shipyard.errors import RefusedError
from shipyard.governance.audit import PRUNED, append_event, read_events
from shipyard.governance.audit_export import export_events
from shipyard.governance.audit_retention import prune, retention_cutoff
from shipyard.governance.audit_verify import verify_log
from shipyard.governance.checkpoints import write_checkpoint
from shipyard.governance.signing import generate_key_pair
from shipyard.store.db import get_engine

LATER = datetime.now(timezone.utc) + timedelta(days=3)
"""A clock three days ahead: today's events are then past a one-day retention."""


@pytest.fixture
def keyed(database_url, tmp_path, monkeypatch):
    private, _, _ = generate_key_pair(tmp_path / "audit.pem")
    monkeypatch.setenv("SHIPYARD_AUDIT_SIGNING_KEY", str(private))
    monkeypatch.setenv("SHIPYARD_AUDIT_CHECKPOINT_EVERY", "5")
    monkeypatch.setenv("SHIPYARD_AUDIT_RETENTION", "1d")


def _fill(n):
    for _ in range(n):
        append_event(actor="ci", action="noted")


def test_the_retention_cutoff_counts_calendar_years_or_days():
    now = datetime(2031, 6, 15, 12, tzinfo=timezone.utc)
    assert retention_cutoff("7y", now) == datetime(2024, 6, 15, 12, tzinfo=timezone.utc)
    assert retention_cutoff("1y", datetime(2028, 2, 29, tzinfo=timezone.utc)) == datetime(2027, 2, 28,
                                                                                            tzinfo=timezone.utc)
    assert retention_cutoff("30d", now) == datetime(2031, 5, 16, 12, tzinfo=timezone.utc)
    assert load_settings({}).audit_retention == "7y"


def test_events_younger_than_the_default_retention_are_never_pruned(database_url, tmp_path, monkeypatch, capsys):
    private, _, _ = generate_key_pair(tmp_path / "audit.pem")
    monkeypatch.setenv("SHIPYARD_AUDIT_SIGNING_KEY", str(private))
    _fill(5)
    export_events(str(tmp_path / "archive"))
    write_checkpoint()
    before = read_events()
    with pytest.raises(RefusedError, match=r"inside the audit retention \(7y\) and may not be deleted"):
        prune(before=datetime.now(timezone.utc))
    with pytest.raises(RefusedError, match="no audit event is older than"):
        prune()  # the cutoff seven years back: nothing qualifies
    assert shipyard(["audit", "prune", "--before", datetime.now(timezone.utc).date().isoformat()]) == 6
    assert "may not be deleted" in capsys.readouterr().err
    assert read_events() == before


def test_pruning_needs_an_intact_export_and_a_checkpoint(keyed, tmp_path):
    _fill(7)  # checkpoints at 1 and 6
    with pytest.raises(RefusedError, match="no intact export holds event 1"):
        prune(now=LATER)
    export = export_events(str(tmp_path / "archive"), format="jsonl")
    Path(export.location).write_text("{}\n")  # the archive was altered after the export
    with pytest.raises(RefusedError, match="no intact export holds event 1"):
        prune(now=LATER)
    assert [e.seq for e in read_events()] == list(range(1, 9))


def test_pruned_events_leave_a_log_that_still_verifies(keyed, tmp_path, capsys):
    _fill(7)  # checkpoints at 1 and 6
    export_events(str(tmp_path / "archive"))  # event 8 records the export of 1..7
    pruned = prune(now=LATER)
    assert (pruned.through_seq, pruned.deleted) == (6, 6)
    assert pruned.export.endswith("audit-000000000001-000000000007.parquet")
    events = read_events()
    assert [e.seq for e in events] == [7, 8, 9] and events[-1].action == PRUNED
    report = verify_log()
    assert report.ok, report
    assert (report.first_seq, report.anchored_through, report.unanchored_events) == (7, 9, 0)
    assert shipyard(["audit", "verify"]) == 0
    capsys.readouterr()

    with get_engine(load_settings()).begin() as connection:
        connection.execute(text("DELETE FROM audit_events WHERE seq = 7"))
    report = verify_log()
    assert not report.ok and report.first_bad_seq == 7
    assert report.problem == ("event 7 is missing and a recorded prune deleted events through 6 only: "
                              "events were deleted from the start")


def _old_log(n, days_ago):
    """A valid chain of ``n`` events dated ``days_ago`` days back, as a long-running platform would hold."""
    from shipyard.governance.audit import GENESIS, Event, event_hash
    from shipyard.store.db import session_scope
    from shipyard.store.models import AuditEvent

    start, previous, rows = datetime.now(timezone.utc) - timedelta(days=days_ago), GENESIS, []
    for seq in range(1, n + 1):
        event = Event(seq=seq, time=start + timedelta(minutes=seq), actor="ci", action="noted", model=None,
                      version=None, from_state=None, to_state=None, reason=None, prev_hash=previous)
        previous = event_hash(event)
        rows.append(AuditEvent(**{**event.__dict__, "hash": previous}))
    with session_scope() as session:
        session.add_all(rows)


def test_the_prune_command_deletes_only_what_retention_allows(keyed, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SHIPYARD_AUDIT_RETENTION", "30d")
    _old_log(4, days_ago=40)  # old enough
    assert shipyard(["audit", "checkpoint"]) == 0  # anchors event 4
    _fill(3)  # today's events 5..7
    assert shipyard(["audit", "export", "--out", str(tmp_path / "archive")]) == 0  # event 8
    capsys.readouterr()
    too_soon = (datetime.now(timezone.utc) - timedelta(days=10)).date().isoformat()
    assert shipyard(["audit", "prune", "--before", too_soon]) == 6
    assert "inside the audit retention (30d)" in capsys.readouterr().err
    assert len(read_events()) == 8
    assert shipyard(["audit", "prune"]) == 0
    assert "pruned 4 events through event 4" in capsys.readouterr().out
    assert [e.seq for e in read_events()] == [5, 6, 7, 8, 9]
    assert shipyard(["audit", "verify"]) == 0
    assert "chain intact and anchored" in capsys.readouterr().out


def test_only_a_platform_admin_exports_or_prunes(keyed, tmp_path):
    from shipyard.errors import ForbiddenError
    from shipyard.governance.identity import Identity, acting_as

    _fill(3)
    team_admin = Identity(name="bob", kind="user", roles={"growth": "admin"}, authenticated=True)
    with acting_as(team_admin):
        with pytest.raises(ForbiddenError, match="only a platform admin may"):
            export_events(str(tmp_path / "archive"))
        with pytest.raises(ForbiddenError, match="only a platform admin may"):
            prune(now=LATER)
    assert not (tmp_path / "archive").exists() and len(read_events()) == 3
