"""A folder of objects at a local path or an fsspec URL: whole objects written, read back and listed."""

import uuid

import pytest

from shipyard.errors import BackendError
from shipyard.store.object_folder import ObjectFolder


@pytest.fixture(params=["local", "memory"])
def folder(request, tmp_path):
    url = str(tmp_path / "objects") if request.param == "local" else f"memory://shipyard-{uuid.uuid4().hex}/objects"
    return ObjectFolder(url)


def test_objects_are_written_read_and_listed(folder):
    assert folder.names() == []  # an absent folder is empty
    location = folder.write("b.json", b"{}")
    folder.write("a.json", b"[1]")
    folder.write("a.json", b"[2]")  # replaced whole
    assert folder.names() == ["a.json", "b.json"]
    assert folder.read("a.json") == b"[2]"
    assert location.endswith("/objects/b.json")
    assert location.startswith("memory://") != folder.is_local
    with pytest.raises(FileNotFoundError):
        folder.read("missing.json")


def test_a_scheme_without_its_backend_is_a_clear_error():
    with pytest.raises(BackendError, match="cannot open the storage at nosuchscheme://x") as caught:
        ObjectFolder("nosuchscheme://x/y")
    assert "install the fsspec backend" in caught.value.hint


def test_checkpoints_go_to_an_fsspec_url(database_url, tmp_path, monkeypatch):
    from shipyard.config import load_settings
    from shipyard.governance.audit import append_event
    from shipyard.governance.audit_verify import verify_log
    from shipyard.governance.signing import generate_key_pair

    private, _, _ = generate_key_pair(tmp_path / "audit.pem")
    url = f"memory://audit-{uuid.uuid4().hex}/checkpoints"
    monkeypatch.setenv("SHIPYARD_AUDIT_SIGNING_KEY", str(private))
    monkeypatch.setenv("SHIPYARD_AUDIT_CHECKPOINTS", url)
    monkeypatch.setenv("SHIPYARD_AUDIT_CHECKPOINT_EVERY", "2")
    for _ in range(3):
        append_event(actor="ci", action="noted")
    assert load_settings().audit_checkpoints == url
    names = ObjectFolder(url).names()
    assert [n[:12] for n in names if n.endswith(".json")] == ["000000000001", "000000000003"]
    assert len(names) == 4 and all(n + ".sig" in names for n in names if n.endswith(".json"))
    report = verify_log()
    assert report.ok and report.anchored_through == 3
