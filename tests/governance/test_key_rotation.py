"""Rotating the audit signing key: the old key is retired but stays in the ring, so checkpoints signed before and
after verify; a checkpoint under an unknown key, under a retired key past its retirement, or a forged rotation
record is refused."""

from datetime import datetime, timezone

import pytest

from shipyard.cli import main as shipyard
from shipyard.config import load_settings
from shipyard.errors import RefusedError
from shipyard.governance.audit import read_events
from shipyard.governance.audit_verify import verify_log
from shipyard.governance.checkpoints import Checkpoint, file_name, write_checkpoint
from shipyard.governance.keyring import Rotation, public_pem, write_rotation
from shipyard.governance.signing import Signer, Verifier, generate_key_pair, load_private_key
from shipyard.store.object_folder import ObjectFolder

from .test_checkpoints import _fill, anchored, signing_key  # noqa: F401  (fixtures)


@pytest.fixture
def rotated(anchored, signing_key, tmp_path, monkeypatch, capsys):  # noqa: F811
    """Twelve events anchored by the first key, a rotation to a second, and five more events under it."""
    new = tmp_path / "keys" / "audit-2.pem"
    assert shipyard(["audit", "rotate-key", "--out", str(new), "--reason", "yearly rotation"]) == 0
    out = capsys.readouterr().out
    old_id = Signer(load_private_key(signing_key[0])).key_id
    new_id = Signer(load_private_key(new)).key_id
    assert f"signing key {old_id} retired after event 13; new signing key {new_id}" in out
    assert f"export SHIPYARD_AUDIT_SIGNING_KEY={new}" in out
    event = read_events()[-1]
    assert (event.seq, event.action, event.reason, event.details) == (
        13, "audit_key_rotated", "yearly rotation", {"old_key_id": old_id, "new_key_id": new_id})
    old_key = signing_key[0]
    monkeypatch.setenv("SHIPYARD_AUDIT_SIGNING_KEY", str(new))
    _fill(5, start=13)
    return {"old": old_key, "new": new, "old_id": old_id, "new_id": new_id}


def test_checkpoints_under_the_old_and_the_new_key_verify_from_either_end(rotated, monkeypatch, capsys):
    settings = load_settings()
    assert write_checkpoint(settings).key_id == rotated["new_id"]
    report = verify_log()
    assert report.ok, report.problem
    assert report.anchored_through == 18 and report.checkpoints >= 4
    monkeypatch.setenv("SHIPYARD_AUDIT_PUBLIC_KEY", str(rotated["old"]) + ".pub")
    assert verify_log().ok
    monkeypatch.delenv("SHIPYARD_AUDIT_PUBLIC_KEY")
    assert shipyard(["audit", "verify"]) == 0
    assert "chain intact and anchored" in capsys.readouterr().out


def test_the_retired_key_signs_no_more_and_a_checkpoint_it_signed_later_is_refused(rotated, monkeypatch, capsys):
    monkeypatch.setenv("SHIPYARD_AUDIT_SIGNING_KEY", str(rotated["old"]))
    with pytest.raises(RefusedError, match="was retired after event 13"):
        write_checkpoint(load_settings())
    assert shipyard(["audit", "checkpoint"]) == 6
    assert "signing key retired" in capsys.readouterr().err
    assert shipyard(["audit", "rotate-key", "--out", str(rotated["new"].with_name("audit-3.pem"))]) == 6
    assert not rotated["new"].with_name("audit-3.pem").exists()
    monkeypatch.setenv("SHIPYARD_AUDIT_SIGNING_KEY", str(rotated["new"]))
    settings = load_settings()
    head = read_events()[-1]
    _sign(settings, Signer(load_private_key(rotated["old"])), head.seq, head.hash)
    report = verify_log()
    assert not report.ok and "signed with a retired key" in report.problem
    assert f"its key {rotated['old_id']} was retired after event 13" in report.problem


def test_a_checkpoint_under_an_unknown_key_or_a_forged_rotation_is_refused(rotated, tmp_path):
    settings = load_settings()
    folder = ObjectFolder(settings.audit_checkpoints)
    mallory = Signer(load_private_key(generate_key_pair(tmp_path / "mallory.pem")[0]))
    current = Signer(load_private_key(rotated["new"]))
    forged = Rotation(old_key_id=mallory.key_id, old_public=public_pem(Verifier(mallory.private.public_key())),
                      new_key_id=current.key_id, new_public=public_pem(Verifier(current.private.public_key())),
                      seq=18, time=datetime.now(timezone.utc))
    write_rotation(folder, forged, old=mallory, new=mallory)  # mallory cannot sign as the current key
    report = verify_log()
    assert not report.ok and "does not verify with the keys it names: it was altered or forged" in report.problem
    _remove(folder, forged.name)
    assert verify_log().ok

    head = read_events()[-1]
    _sign(settings, mallory, head.seq, head.hash)
    report = verify_log()
    assert not report.ok and f"names key {mallory.key_id}, which is neither the configured key" in report.problem


def _sign(settings, signer: Signer, seq: int, head_hash: str) -> None:
    checkpoint = Checkpoint(seq=seq, head_hash=head_hash, first_seq=1, count=seq, time=datetime.now(timezone.utc),
                            key_id=signer.key_id)
    body = checkpoint.body()
    folder = ObjectFolder(settings.audit_checkpoints)
    folder.write(file_name(body) + ".sig", signer.sign(body).encode())
    folder.write(file_name(body), body)


def _remove(folder: ObjectFolder, name: str) -> None:
    from pathlib import Path

    for suffix in ("", ".old.sig", ".new.sig"):
        Path(folder.location(name + suffix)).unlink()
