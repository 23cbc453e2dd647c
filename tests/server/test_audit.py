"""``/api/v1/audit``: the log, filtered and paged, and the chain's verification."""

from __future__ import annotations

from server.conftest import assert_problem


def test_audit_log_pages_filters_and_sorts(client, platform):
    everything = client.get("/api/v1/audit", params={"limit": 500}).json()
    assert everything["total"] == len(everything["items"]) > 3
    seqs = [e["seq"] for e in everything["items"]]
    assert seqs == sorted(seqs)
    newest = client.get("/api/v1/audit", params={"sort": "-seq", "limit": 2}).json()
    assert [e["seq"] for e in newest["items"]] == seqs[::-1][:2] and newest["next_offset"] == 2
    registered = client.get("/api/v1/audit", params={"model": "churny", "action": "registered"}).json()
    assert registered["total"] >= 3 and {e["action"] for e in registered["items"]} == {"registered"}
    assert client.get("/api/v1/audit", params={"since": "2999-01-01T00:00:00"}).json()["total"] == 0
    assert_problem(client.get("/api/v1/audit", params={"since": "yesterday"}), 422)
    assert_problem(client.get("/api/v1/audit", params={"sort": "time"}), 400, detail="allowed sort keys: seq")


def test_verify_reports_an_intact_chain_and_names_a_tampered_event(client, platform):
    from sqlalchemy import text

    from shipyard.store.db import get_engine

    intact = client.get("/api/v1/audit/verify").json()
    assert intact["ok"] is True and intact["events"] > 3
    engine = get_engine(platform["settings"])
    with engine.begin() as connection:
        original = connection.execute(text("SELECT actor FROM audit_events WHERE seq = 2")).scalar_one()
        connection.execute(text("UPDATE audit_events SET actor = 'mallory' WHERE seq = 2"))
    try:
        tampered = client.get("/api/v1/audit/verify").json()
        assert tampered["ok"] is False and tampered["first_bad_seq"] == 2
    finally:
        with engine.begin() as connection:
            connection.execute(text("UPDATE audit_events SET actor = :actor WHERE seq = 2"), {"actor": original})


def test_verify_checks_the_signed_checkpoints_when_a_key_is_configured(client, platform, tmp_path):
    import dataclasses
    from datetime import datetime, timezone

    from fastapi.testclient import TestClient

    from shipyard.governance.checkpoints import Checkpoint, file_name, write_checkpoint
    from shipyard.governance.signing import generate_key_pair, load_signer
    from shipyard.server.app import create_app
    from shipyard.store.object_folder import ObjectFolder

    unkeyed = client.get("/api/v1/audit/verify").json()
    assert unkeyed["anchored"] is False and "not anchored: no signing key is configured" in unkeyed["summary"]
    private, _, _ = generate_key_pair(tmp_path / "audit.pem")
    settings = dataclasses.replace(platform["settings"], audit_signing_key=private,
                                   audit_checkpoint_url=str(tmp_path / "checkpoints"))
    anchor = write_checkpoint(settings)
    with TestClient(create_app(settings, require_auth=False), raise_server_exceptions=False) as keyed:
        intact = keyed.get("/api/v1/audit/verify").json()
        assert intact["ok"] is True and intact["anchored"] is True
        assert intact["anchored_through"] == anchor.seq == intact["head_seq"] and intact["checkpoints"] == 1
        # a checkpoint of an event the log no longer holds: as if its newest events had been deleted
        signer = load_signer(settings)
        later = Checkpoint(seq=anchor.seq + 5, head_hash="a" * 64, first_seq=1, count=anchor.count + 5,
                           time=datetime.now(timezone.utc), key_id=signer.key_id)
        folder = ObjectFolder(settings.audit_checkpoints)
        folder.write(file_name(later.body()) + ".sig", signer.sign(later.body()).encode())
        folder.write(file_name(later.body()), later.body())
        truncated = keyed.get("/api/v1/audit/verify").json()
        assert truncated["ok"] is False and truncated["first_bad_seq"] == anchor.seq + 1
        assert "deleted from its end" in truncated["problem"]


def test_audit_log_by_team_has_its_models_and_its_own_events(governed):
    from shipyard.governance import directory
    from shipyard.governance.audit import append_event
    from shipyard.store.db import session_scope

    http, headers = governed
    with session_scope() as session:
        directory.record_owner("fraudnet", "fraud", session=session)
        directory.record_owner("growthnet", "growth", session=session)
    append_event(actor="ada", action="registered", model="fraudnet", version="1")
    append_event(actor="ada", action="registered", model="growthnet", version="1")
    fraud = http.get("/api/v1/audit", params={"team": "fraud", "limit": 500}, headers=headers["root"]).json()
    assert {(e["action"], e["model"]) for e in fraud["items"]} == {
        ("team_created", None), ("member_added", None), ("member_removed", None), ("registered", "fraudnet")}
    assert fraud["total"] == len(fraud["items"]) == 6  # created, three members added, one removed, a version
    registered = http.get("/api/v1/audit", params={"team": "fraud", "action": "registered"},
                          headers=headers["root"]).json()
    assert [e["model"] for e in registered["items"]] == ["fraudnet"]
    assert http.get("/api/v1/audit", params={"team": "nobody"}, headers=headers["root"]).json()["total"] == 0
