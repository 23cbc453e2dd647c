"""Signed checkpoints anchor the audit chain outside the database: truncating the newest events, deleting,
editing and re-chaining the whole table (every hash recomputed) are each detected against them."""

from dataclasses import replace
from pathlib import Path

import pytest
from s3_server import s3_env, s3_server  # noqa: F401 (fixtures)
from sqlalchemy import delete, text

from shipyard.cli import main as shipyard
from shipyard.config import load_settings
from shipyard.errors import TamperedError
from shipyard.governance.audit import GENESIS, append_event, event_hash, read_events
from shipyard.governance.audit_verify import verify_log
from shipyard.governance.checkpoints import write_checkpoint
from shipyard.governance.signing import generate_key_pair
from shipyard.store.db import get_engine, session_scope
from shipyard.store.models import AuditEvent
from shipyard.store.object_folder import ObjectFolder


@pytest.fixture
def signing_key(tmp_path, monkeypatch):
    private, public, _ = generate_key_pair(tmp_path / "keys" / "audit.pem")
    monkeypatch.setenv("SHIPYARD_AUDIT_SIGNING_KEY", str(private))
    monkeypatch.setenv("SHIPYARD_AUDIT_CHECKPOINT_EVERY", "5")
    return private, public


@pytest.fixture
def anchored(database_url, signing_key):
    """Twelve events, anchored at events 1, 6 and 11."""
    _fill(12)
    return load_settings()


def _fill(n, start=1):
    for i in range(start, start + n):
        append_event(actor="ci", action="registered", model="churn", version=i, to_state="candidate",
                     details={"run": f"r{i}"})


def _sql(statement, **params):
    with get_engine(load_settings()).begin() as connection:
        connection.execute(text(statement), params)


def _checkpoint_seqs(settings):
    folder = ObjectFolder(settings.audit_checkpoints)
    return sorted(int(name[:12]) for name in folder.names() if name.endswith(".json"))


def _stored(folder, seq):
    [name] = [n for n in folder.names() if n.startswith(f"{seq:012d}-") and n.endswith(".json")]
    return name


def _rechain(events):
    """Replace the whole table by ``events``, renumbered from 1 and every hash recomputed."""
    rows, previous = [], GENESIS
    for seq, event in enumerate(events, start=1):
        relinked = replace(event, seq=seq, prev_hash=previous, hash="")
        previous = event_hash(relinked)
        rows.append(AuditEvent(**{**relinked.__dict__, "hash": previous}))
    with session_scope() as session:
        session.execute(delete(AuditEvent))
        session.add_all(rows)


def _tampered(report, seq, needle):
    assert not report.ok and report.first_bad_seq == seq, report
    assert needle in report.problem, report.problem


def test_checkpoints_are_signed_every_n_events_and_the_log_verifies_against_them(anchored):
    assert _checkpoint_seqs(anchored) == [1, 6, 11]
    folder = ObjectFolder(anchored.audit_checkpoints)
    assert _stored(folder, 11) + ".sig" in folder.names()
    report = verify_log()
    assert report.ok and report.anchored and report.checkpoints == 3
    assert (report.anchored_through, report.unanchored_events, report.head_seq) == (11, 1, 12)
    assert "anchored" in report.summary and "the newest event is not anchored yet" in report.summary


def test_truncating_the_newest_events_is_detected(anchored):
    _sql("DELETE FROM audit_events WHERE seq > 8")
    report = verify_log()
    _tampered(report, 9, "events 9 to 11 were deleted from its end")
    assert report.summary.startswith("TAMPERED")


def test_truncating_everything_is_detected(anchored):
    _sql("DELETE FROM audit_events")
    _tampered(verify_log(), 1, "the log ends at event 0")


def test_deleting_an_event_in_the_middle_is_detected(anchored):
    _sql("DELETE FROM audit_events WHERE seq = 4")
    _tampered(verify_log(), 5, "event 4 is missing")


def test_deleting_the_oldest_events_without_a_recorded_prune_is_detected(anchored):
    _sql("DELETE FROM audit_events WHERE seq <= 3")
    _tampered(verify_log(), 1, "events 1 to 3 are missing and no prune is recorded")


def test_a_forged_prune_record_does_not_excuse_deleted_oldest_events(anchored, signing_key, monkeypatch):
    from shipyard.governance.audit import PRUNED

    monkeypatch.delenv("SHIPYARD_AUDIT_SIGNING_KEY")  # whoever forges it cannot sign
    monkeypatch.setenv("SHIPYARD_AUDIT_PUBLIC_KEY", str(signing_key[1]))
    _sql("DELETE FROM audit_events WHERE seq <= 6")
    append_event(actor="mallory", action=PRUNED, details={"through_seq": 6})
    _tampered(verify_log(), 1, "deleted from the start without a recorded prune")


def test_editing_an_event_is_detected(anchored):
    _sql("UPDATE audit_events SET reason = 'looks fine' WHERE seq = 3")
    _tampered(verify_log(), 3, "edited")


def test_editing_then_rechaining_the_whole_table_is_detected(anchored):
    events = read_events()
    events[2] = replace(events[2], reason="looks fine")
    _rechain(events)
    assert read_events()[2].reason == "looks fine"
    _tampered(verify_log(), 6, "were rewritten and re-chained")


def test_deleting_then_rechaining_the_whole_table_is_detected(anchored):
    _rechain([e for e in read_events() if e.seq != 4])
    _tampered(verify_log(), 6, "were rewritten and re-chained")


def test_truncating_then_rechaining_keeps_no_checkpoint_happy(anchored):
    _rechain(read_events()[:10])
    _tampered(verify_log(), 11, "deleted from its end")


def test_an_altered_renamed_or_foreign_checkpoint_is_detected(anchored, tmp_path, monkeypatch):
    folder = ObjectFolder(anchored.audit_checkpoints)
    name = _stored(folder, 6)
    body = folder.read(name)
    folder.write(name, body.replace(b'"count":6', b'"count":7'))
    _tampered(verify_log(), 6, "does not verify with key")
    folder.write(name, body)
    assert verify_log().ok
    newest = _stored(folder, 11)
    claimed = newest.replace("000000000011-", "000000000012-")
    folder.write(claimed, folder.read(newest))
    _tampered(verify_log(), 12, "has no signature beside it")
    folder.write(claimed + ".sig", folder.read(newest + ".sig"))
    _tampered(verify_log(), 12, "was renamed: it anchors event 11")
    for stray in (claimed, claimed + ".sig"):
        Path(folder.location(stray)).unlink()
    assert verify_log().ok
    other, _, _ = generate_key_pair(tmp_path / "other.pem")
    monkeypatch.setenv("SHIPYARD_AUDIT_SIGNING_KEY", str(other))
    _tampered(verify_log(), 1, "altered or signed with another key")


def test_a_verifier_needs_only_the_public_key(anchored, signing_key, monkeypatch):
    monkeypatch.delenv("SHIPYARD_AUDIT_SIGNING_KEY")
    monkeypatch.setenv("SHIPYARD_AUDIT_PUBLIC_KEY", str(signing_key[1]))
    assert verify_log().anchored_through == 11
    _sql("DELETE FROM audit_events WHERE seq > 10")
    _tampered(verify_log(), 11, "deleted from its end")


def test_no_new_checkpoint_is_signed_over_a_rewritten_log(anchored):
    events = read_events()
    events[7] = replace(events[7], actor="mallory")
    _rechain(events)
    with pytest.raises(TamperedError, match="no longer has the hash its checkpoint anchored"):
        write_checkpoint()
    _fill(5, start=13)  # appends still work; the checkpoint due at 16 is refused, not signed over the forgery
    assert _checkpoint_seqs(anchored) == [1, 6, 11]


def test_a_checkpoint_is_written_at_least_hourly_and_on_demand(database_url, signing_key, monkeypatch, capsys):
    monkeypatch.setenv("SHIPYARD_AUDIT_CHECKPOINT_EVERY", "1000")
    monkeypatch.setenv("SHIPYARD_AUDIT_CHECKPOINT_INTERVAL_S", "0.2")
    _fill(3)
    settings = load_settings()
    assert _checkpoint_seqs(settings) == [1]  # the first event is anchored at once; then not for 1000 events
    import time

    time.sleep(0.3)
    _fill(1, start=4)
    assert _checkpoint_seqs(settings) == [1, 4]  # the first event after the interval
    _fill(2, start=5)
    assert shipyard(["audit", "checkpoint"]) == 0
    assert "checkpoint of event 6" in capsys.readouterr().out
    assert _checkpoint_seqs(settings) == [1, 4, 6]


def test_an_event_inside_a_callers_transaction_is_anchored_only_once_committed(database_url, signing_key):
    settings = load_settings()
    with pytest.raises(RuntimeError):
        with session_scope() as session:
            append_event(actor="ci", action="noted", session=session)
            raise RuntimeError("the caller's change failed")
    assert read_events() == [] and _checkpoint_seqs(settings) == []
    with session_scope() as session:
        append_event(actor="ci", action="noted", session=session)
        append_event(actor="ci", action="noted again", session=session)
        assert _checkpoint_seqs(settings) == []
    assert _checkpoint_seqs(settings) == [2]
    assert verify_log().ok


def test_without_a_key_verify_says_the_log_is_not_anchored(database_url, capsys):
    _fill(3)
    settings = load_settings()
    assert not (settings.artifact_root / "audit").exists()
    report = verify_log()
    assert report.ok and not report.anchored and report.checkpoints == 0
    assert "chain intact over 3 events; not anchored: no signing key is configured" in report.summary
    assert shipyard(["audit", "verify"]) == 0
    assert "not anchored" in capsys.readouterr().out
    assert shipyard(["audit", "checkpoint"]) == 6
    assert "no signing key is configured" in capsys.readouterr().err


def test_verify_exits_9_naming_the_truncation(anchored, capsys):
    assert shipyard(["audit", "verify"]) == 0
    assert "chain intact and anchored: 3 signed checkpoints" in capsys.readouterr().out
    _sql("DELETE FROM audit_events WHERE seq > 6")
    assert shipyard(["audit", "verify"]) == 9
    out = capsys.readouterr().out
    assert "audit log TAMPERED" in out and "events 7 to 11 were deleted from its end" in out


def test_keygen_writes_a_private_key_only_its_owner_reads_and_never_overwrites(tmp_path, capsys):
    target = tmp_path / "k" / "audit.pem"
    assert shipyard(["audit", "keygen", "--out", str(target)]) == 0
    assert target.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "k" / "audit.pem.pub").read_text().startswith("-----BEGIN PUBLIC KEY-----")
    assert "SHIPYARD_AUDIT_SIGNING_KEY=" in capsys.readouterr().out
    before = target.read_bytes()
    assert shipyard(["audit", "keygen", "--out", str(target)]) == 6
    assert "never overwritten" in capsys.readouterr().err and target.read_bytes() == before


@pytest.mark.parametrize("setting, value, needle", [
    ("SHIPYARD_AUDIT_SIGNING_KEY", "/nonexistent/key.pem", "is not a file"),
    ("SHIPYARD_AUDIT_CHECKPOINT_EVERY", "0", "not a positive whole number"),
    ("SHIPYARD_AUDIT_RETENTION", "7 years", "not a retention period"),
])
def test_a_bad_audit_setting_is_a_clear_error(shipyard_home, monkeypatch, capsys, setting, value, needle):
    monkeypatch.setenv(setting, value)
    assert shipyard(["audit", "verify"]) == 2
    assert needle in capsys.readouterr().err


def test_a_key_that_is_not_ed25519_is_refused(database_url, tmp_path, monkeypatch, capsys):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    (tmp_path / "ec.pem").write_bytes(pem)
    monkeypatch.setenv("SHIPYARD_AUDIT_SIGNING_KEY", str(tmp_path / "ec.pem"))
    assert shipyard(["audit", "verify"]) == 2
    assert "not an Ed25519 key" in capsys.readouterr().err


def test_concurrent_writers_anchor_one_verifiable_log(database_url, signing_key, monkeypatch):
    import threading

    monkeypatch.setenv("SHIPYARD_AUDIT_CHECKPOINT_EVERY", "2")
    errors = []

    def writer(k):
        try:
            for i in range(6):
                append_event(actor=f"w{k}", action="noted", details={"i": i})
        except Exception as exc:  # collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    report = verify_log()
    assert report.ok, report
    assert report.head_seq == 24 and report.checkpoints >= 6 and report.unanchored_events < 2


def test_checkpoints_in_s3_anchor_the_log_and_a_modified_one_is_detected(database_url, signing_key, s3_server,
                                                                         s3_env, monkeypatch):
    bucket = s3_env
    monkeypatch.setenv("SHIPYARD_AUDIT_CHECKPOINTS", f"s3://{bucket}/audit/checkpoints")
    _fill(12)
    settings = load_settings()
    assert _checkpoint_seqs(settings) == [1, 6, 11]
    keys = s3_server.keys(bucket, "audit/checkpoints/")
    assert len([k for k in keys if k.endswith(".json")]) == 3 and len([k for k in keys if k.endswith(".sig")]) == 3
    report = verify_log()
    assert report.ok and report.anchored and report.checkpoints == 3

    folder = ObjectFolder(settings.audit_checkpoints)
    name = _stored(folder, 6)
    body = s3_server.client().get_object(Bucket=bucket, Key=f"audit/checkpoints/{name}")["Body"].read()
    s3_server.client().put_object(Bucket=bucket, Key=f"audit/checkpoints/{name}",
                                  Body=body.replace(b'"count":6', b'"count":7'))
    _tampered(verify_log(), 6, "does not verify with key")
    s3_server.client().put_object(Bucket=bucket, Key=f"audit/checkpoints/{name}", Body=body)
    assert verify_log().ok

    _sql("DELETE FROM audit_events WHERE seq > 8")
    _tampered(verify_log(), 9, "events 9 to 11 were deleted from its end")
