"""The hash-chained audit log detects an edited, deleted or reordered event."""

import threading

from sqlalchemy import text

from shipyard.config import load_settings
from shipyard.governance.audit import append_event, read_events, verify_chain
from shipyard.store.db import get_engine


def _fill(n=5):
    for i in range(1, n + 1):
        append_event(actor="ci", action="registered", model="churn", version=i, to_state="candidate",
                     details={"run": f"r{i}"})


def _sql(statement, **params):
    with get_engine(load_settings()).begin() as connection:
        connection.execute(text(statement), params)


def test_an_untouched_chain_verifies(database_url):
    _fill()
    report = verify_chain()
    assert report.ok and report.events == 5
    events = read_events(model="churn")
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[1].prev_hash == events[0].hash


def test_an_edited_event_is_named(database_url):
    _fill()
    _sql("UPDATE audit_events SET reason = 'looks fine' WHERE seq = 3")
    report = verify_chain()
    assert not report.ok and report.first_bad_seq == 3
    assert "edited" in report.problem


def test_a_deleted_event_is_named(database_url):
    _fill()
    _sql("DELETE FROM audit_events WHERE seq = 2")
    report = verify_chain()
    assert not report.ok and report.first_bad_seq == 3
    assert "event 2 is missing" in report.problem


def test_a_relinked_event_is_caught(database_url):
    _fill()
    _sql("UPDATE audit_events SET prev_hash = :h WHERE seq = 4", h="f" * 64)
    report = verify_chain()
    assert not report.ok and report.first_bad_seq == 4


def test_reordered_events_are_caught(database_url):
    _fill()
    _sql("UPDATE audit_events SET seq = 100 WHERE seq = 2")
    _sql("UPDATE audit_events SET seq = 2 WHERE seq = 3")
    _sql("UPDATE audit_events SET seq = 3 WHERE seq = 100")
    report = verify_chain()
    assert not report.ok and report.first_bad_seq == 2


def test_concurrent_appends_keep_one_unbroken_chain(database_url):
    errors = []

    def writer(k):
        try:
            for i in range(5):
                append_event(actor=f"w{k}", action="noted", details={"i": i})
        except Exception as exc:  # collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    report = verify_chain()
    assert report.ok and report.events == 20


def test_the_actor_is_the_authenticated_identity_and_the_mark_is_chained(database_url):
    from shipyard.governance.identity import Identity, acting_as

    alice = Identity(name="alice", kind="user", roles={"fraud": "approver"}, authenticated=True)
    append_event(actor="typed-by-hand", action="approved", model="churn", version=1)
    with acting_as(alice):
        append_event(actor="typed-by-hand", action="approved", model="churn", version=2)
    events = read_events()
    assert [(e.actor, e.authenticated) for e in events] == [("typed-by-hand", False), ("alice", True)]
    assert verify_chain().ok
    _sql("UPDATE audit_events SET authenticated = true WHERE seq = 1")
    report = verify_chain()
    assert not report.ok and report.first_bad_seq == 1 and "edited" in report.problem



def test_a_teams_events_are_its_models_and_its_own_on_sqlite_and_postgresql(database_url):
    from shipyard.governance.audit import append_event, page_events
    from shipyard.store.db import session_scope
    from shipyard.store.models import ModelOwner, utcnow

    with session_scope() as session:
        session.add_all([ModelOwner(model="fraudnet", team="fraud", recorded_at=utcnow()),
                         ModelOwner(model="churny", team="growth", recorded_at=utcnow())])
    append_event(actor="root", action="team_created", details={"team": "fraud"})
    append_event(actor="root", action="team_created", details={"team": "growth"})
    append_event(actor="ada", action="registered", model="fraudnet", version="1")
    append_event(actor="ada", action="registered", model="churny", version="1")
    append_event(actor="ada", action="token_created", details={"name": "fraud"})
    events, total = page_events(team="fraud")
    assert total == 2 and [(e.action, e.model) for e in events] == [("team_created", None), ("registered", "fraudnet")]
    newest, _ = page_events(team="growth", descending=True, limit=1)
    assert [(e.action, e.model) for e in newest] == [("registered", "churny")]
    assert page_events(team="nobody") == ([], 0)
