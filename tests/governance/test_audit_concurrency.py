"""Audited writes at the same time, from threads and from processes, all land on one valid chain."""

import multiprocessing
import threading

import pytest

from shipyard.governance.audit import append_event, read_events, verify_chain
from shipyard.store.db import session_scope

WRITERS, EACH = 6, 5


def _write_in_a_session(tag: str, start: threading.Barrier | None = None) -> None:
    if start is not None:
        start.wait()
    for i in range(EACH):
        with session_scope() as session:
            append_event(actor=tag, action="registered", model="churn", version=i, session=session)


def test_threads_appending_inside_their_own_transactions_keep_one_chain(database_url):
    start = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            _write_in_a_session(f"w{k}", start)
        except BaseException as exc:  # noqa: BLE001 (the assertion below names it)
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    report = verify_chain()
    assert report.ok and report.events == WRITERS * EACH
    assert [e.seq for e in read_events()] == list(range(1, WRITERS * EACH + 1))


def _process_writer(url: str, home: str, tag: str, barrier) -> str:
    import os

    os.environ["SHIPYARD_DATABASE_URL"], os.environ["SHIPYARD_HOME"] = url, home
    barrier.wait()
    try:
        _write_in_a_session(tag)
    except Exception as exc:  # noqa: BLE001 (returned so the parent's assertion names it)
        return f"{type(exc).__name__}: {exc}"
    return "ok"


@pytest.mark.postgres
def test_processes_appending_at_once_on_postgresql_keep_one_chain(new_postgres_database, tmp_path, monkeypatch):
    url = new_postgres_database()
    monkeypatch.setenv("SHIPYARD_DATABASE_URL", url)
    monkeypatch.setenv("SHIPYARD_HOME", str(tmp_path / "home"))
    append_event(actor="setup", action="created")  # migrates once before the race
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        barrier = manager.Barrier(4)
        with context.Pool(4) as pool:
            results = pool.starmap(_process_writer,
                                   [(url, str(tmp_path / "home"), f"p{k}", barrier) for k in range(4)])
    assert results == ["ok"] * 4
    report = verify_chain()
    assert report.ok and report.events == 1 + 4 * EACH
