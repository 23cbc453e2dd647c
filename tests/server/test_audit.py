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
