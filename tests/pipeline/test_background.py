"""Runs started, cancelled and resumed in a process of their own: the refusals that come back at once.

Runs that really start, stop and resume in the background are exercised through the API in
tests/server/test_runs.py.
"""

from __future__ import annotations

import pytest

from shipyard.config import load_settings
from shipyard.errors import ForbiddenError, NotFoundError, RefusedError, SpecError
from shipyard.governance.identity import Identity, acting_as
from shipyard.pipeline import background
from shipyard.store import runs

SPEC = ("name: churny\ndata:\n  source: {type: csv, path: data.csv}\n  target: y\n"
        "features:\n  - columns: [x]\n    transforms: [{kind: scale}]\n"
        "model: {flavor: sklearn, estimator: LogisticRegression}\n")


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


def test_cancel_and_resume_need_the_role_in_the_team_the_runs_spec_names(shipyard_home):
    runs.create_run(run_id="team00000000", pipeline="churn", spec_path=None, spec_text="name: churn\nteam: fraud\n",
                    spec_digest="f" * 64, options={}, owner="elsewhere.example:4242:abcd", lease_s=300)
    outsider = Identity(name="rita", kind="user", roles={"risk": "admin"}, authenticated=True)
    viewer = Identity(name="vic", kind="user", roles={"fraud": "viewer"}, authenticated=True)
    for identity, held in ((outsider, "has no role in team fraud"), (viewer, "is viewer in team fraud")):
        with acting_as(identity):
            with pytest.raises(ForbiddenError, match=f"may not runs.cancel for team fraud: it {held}"):
                background.cancel("team00000000")
            with pytest.raises(ForbiddenError, match=f"may not runs.start for team fraud: it {held}"):
                background.resume("team00000000", actor=identity.name)
    developer = Identity(name="dev", kind="user", roles={"fraud": "developer"}, authenticated=True)
    with acting_as(developer), pytest.raises(RefusedError, match="runs on elsewhere.example"):
        background.cancel("team00000000")
    assert not (load_settings().home / "run-logs").exists()


def test_an_uploaded_spec_names_the_clients_folder_only_when_it_holds_that_spec(shipyard_home, tmp_path):
    from shipyard.errors import DataError

    client = tmp_path / "client"
    client.mkdir()
    (client / "data.csv").write_text("x,y\n1,0\n")
    (client / "pipeline.yaml").write_text(SPEC.replace("churny", "other"))  # another spec: not this one
    settings = load_settings()
    for base_dir in (str(client), "client", str(tmp_path / "absent")):
        with pytest.raises(DataError, match="does not exist") as missing:
            background.start_uploaded(SPEC, actor="alice", base_dir=base_dir, settings=settings)
        assert str(settings.home / "specs") in missing.value.message  # resolved beside the kept copy
    assert not (settings.home / "run-logs").exists()


def test_an_unknown_from_step_is_refused_before_a_run_is_launched(shipyard_home, tmp_path):
    client = tmp_path / "client"
    client.mkdir()
    (client / "data.csv").write_text("x,y\n1,0\n")
    (client / "pipeline.yaml").write_text(SPEC)
    settings = load_settings()
    with pytest.raises(SpecError, match="no step named 'nope'"):
        background.start_uploaded(SPEC, actor="alice", base_dir=str(client), from_step="nope", settings=settings)
    assert not (settings.home / "run-logs").exists()
