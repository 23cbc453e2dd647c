"""Environment capture: interpreter, packages, pip freeze, git state."""

import importlib.util
import json
import platform
import re
import shutil
from importlib import metadata

import pytest
from tracked_run import git_repo

from shipyard.tracking.environment import (
    KEY_PACKAGES,
    capture_environment,
    git_commit,
    git_dirty,
    package_version,
    pip_freeze,
    requirements_for,
)

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def test_environment_names_the_interpreter_and_key_packages():
    environment = capture_environment()
    assert environment["python"] == platform.python_version()
    assert environment["implementation"] == platform.python_implementation()
    assert environment["platform"] == platform.platform()
    assert set(environment["packages"]) == set(KEY_PACKAGES)
    assert environment["packages"]["mlflow"] == metadata.version("mlflow")
    assert environment["packages"]["scikit-learn"] == metadata.version("scikit-learn")
    assert environment["packages"]["shipyard"] == metadata.version("shipyard")
    json.dumps(environment)


def test_a_package_installed_under_another_distribution_name_is_found():
    if importlib.util.find_spec("xgboost") is None:
        assert capture_environment()["packages"]["xgboost"] is None
    else:
        assert capture_environment()["packages"]["xgboost"] is not None


def test_a_missing_package_has_no_version():
    assert package_version("surely-not-an-installed-distribution") is None


def test_pip_freeze_is_sorted_pins():
    pins = pip_freeze()
    names = [re.sub(r"[-_.]+", "-", pin.split("==", 1)[0]).lower() for pin in pins]
    assert all("==" in pin for pin in pins)
    assert names == sorted(names) and len(names) == len(set(names))
    assert f"mlflow=={metadata.version('mlflow')}" in pins


def test_model_requirements_pin_what_serving_needs():
    pins = requirements_for("lightgbm")
    assert f"scikit-learn=={metadata.version('scikit-learn')}" in pins
    assert f"lightgbm=={metadata.version('lightgbm')}" in pins
    assert not any(pin.startswith("xgboost") for pin in requirements_for("sklearn"))


@needs_git
def test_git_commit_and_dirty_state(tmp_path):
    repo = tmp_path / "repo"
    commit = git_repo(repo)
    assert git_commit(repo) == commit and len(commit) == 40
    assert git_dirty(repo) is False
    (repo / "untracked.txt").write_text("new")
    assert git_dirty(repo) is False
    (repo / "pipeline.yaml").write_text("changed")
    assert git_dirty(repo) is True
    (repo / "sub").mkdir()
    assert git_commit(repo / "sub") == commit


@needs_git
def test_no_git_state_outside_a_repository(tmp_path):
    assert git_commit(tmp_path) is None
    assert git_dirty(tmp_path) is None
    assert git_commit(tmp_path / "missing") is None


def test_no_git_state_without_git(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert git_commit(tmp_path) is None
    assert git_dirty(tmp_path) is None
