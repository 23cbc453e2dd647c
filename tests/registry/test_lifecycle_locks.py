"""Transitions and rollbacks of one model from several processes on PostgreSQL take their locks in one
order (the model's head, then its version rows), so they queue instead of deadlocking."""

import multiprocessing
import os
from datetime import datetime, timezone

import pytest

from shipyard.config import load_settings
from shipyard.errors import RefusedError
from shipyard.governance.audit import append_event, verify_chain
from shipyard.store.db import session_scope
from shipyard.store.models import ModelHead, ModelVersionState
from shipyard.tracking.setup import configure_mlflow

pytestmark = pytest.mark.postgres
ROUNDS = 25


def _seed() -> None:
    with session_scope() as session:
        session.add(ModelHead(model="churn", production_version="1", row_version=0))
        session.flush()
        for version, state in (("1", "production"), ("2", "rolled_back")):
            session.add(ModelVersionState(model="churn", version=version, state=state, approval="auto",
                                          was_production=True, synced=True, updated_at=datetime.now(timezone.utc)))
            append_event(actor="gates", action="gate_passed", model="churn", version=version, session=session)


def _race(url: str, home: str, role: str, barrier) -> list[str]:
    from shipyard.registry.lifecycle import apply_rollback, apply_transition

    os.environ["SHIPYARD_DATABASE_URL"], os.environ["SHIPYARD_HOME"] = url, home
    barrier.wait()
    problems: list[str] = []
    for _ in range(ROUNDS):
        try:
            with session_scope() as session:
                if role == "rollback":
                    apply_rollback(session, "churn", actor="ops", reason="drill", force=True, by_deployment=True)
                else:
                    waiting = [r.version for r in session.query(ModelVersionState).filter_by(
                        model="churn", state="rolled_back")]
                    if waiting:
                        apply_transition(session, "churn", waiting[0], "production", actor="ops",
                                         reason="back again", by_deployment=True)
        except RefusedError:
            continue  # the other process changed the model first: a clean refusal is the expected outcome
        except Exception as exc:  # noqa: BLE001 (returned so the parent's assertion names it)
            problems.append(f"{type(exc).__name__}: {exc}")
    return problems


def test_transitions_and_rollbacks_at_once_neither_deadlock_nor_break_the_state(
        new_postgres_database, tmp_path, monkeypatch):
    url, home = new_postgres_database(), str(tmp_path / "home")
    monkeypatch.setenv("SHIPYARD_DATABASE_URL", url)
    monkeypatch.setenv("SHIPYARD_HOME", home)
    _seed()
    configure_mlflow(load_settings())  # the rollbacks' compatibility check opens it; create it once, here
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        barrier = manager.Barrier(2)
        with context.Pool(2) as pool:
            results = pool.starmap(_race, [(url, home, "rollback", barrier), (url, home, "promote", barrier)])
    assert results == [[], []]
    with session_scope() as session:
        head = session.get(ModelHead, "churn")
        production = [r.version for r in session.query(ModelVersionState).filter_by(model="churn",
                                                                                     state="production")]
        assert production == [head.production_version]
        assert head.row_version > 10
    assert verify_chain().ok
