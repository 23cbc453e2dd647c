"""Runs started, cancelled and resumed in a process of their own: the refusals that come back at once.

Runs that really start, stop and resume in the background are exercised through the API in
tests/server/test_runs.py.
"""

from __future__ import annotations

import pytest

from shipyard.config import load_settings
from shipyard.errors import NotFoundError, RefusedError, SpecError
from shipyard.pipeline import background
from shipyard.store import runs


def _run(run_id: str, **lease) -> None:
    runs.create_run(run_id=run_id, pipeline="churn", spec_path=None, spec_text="name: churn", spec_digest="f" * 64,
                    options={}, **lease)


def test_an_invalid_uploaded_spec_starts_nothing(shipyard_home):
    settings = load_settings()
    with pytest.raises(SpecError, match="the file is empty"):
        background.start_uploaded("", actor="alice", settings=settings)
    with pytest.raises(SpecError):
        background.start_uploaded("name: [", actor="alice", settings=settings)
    assert not (settings.home / "run-logs").exists() and not (settings.home / "specs").exists()


def test_cancel_refuses_a_run_that_is_not_running_or_runs_elsewhere(shipyard_home):
    _run("idle00000000")
    with pytest.raises(RefusedError, match="is not running"):
        background.cancel("idle00000000")
    _run("away00000000", owner="elsewhere.example:4242:abcd", lease_s=300)
    with pytest.raises(RefusedError, match="runs on elsewhere.example") as refused:
        background.cancel("away00000000")
    assert "process 4242" in refused.value.hint
    with pytest.raises(NotFoundError):
        background.cancel("nosuchrun000")


def test_resume_refuses_a_run_another_process_holds(shipyard_home):
    _run("held00000000", owner="elsewhere.example:4242:abcd", lease_s=300)
    with pytest.raises(RefusedError, match="still running"):
        background.resume("held00000000", actor="alice")
    assert not (load_settings().home / "run-logs").exists()
