"""Running a command in-process and through a real server on loopback, each against its own copy of one store.

A change cannot be made twice in one store and answer the same both times, so the fixture seeds one
SHIPYARD_HOME, copies it, and serves the copy: the in-process command acts on the original, the same
command with SHIPYARD_URL set acts on the copy through the API, and the two stores move in lockstep.
Both share one MLflow store. The server acts for a platform admin named like the local user, so the
audit names and refusals agree. Clocks and random ids cannot agree; :func:`steady` masks them.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from live_server import LiveServer
from shipyard.cli import main

ACTOR = "tester"
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d(\.\d+)?)?")
VOLATILE = [(re.compile(r"shy_[A-Za-z0-9_-]{43}"), "shy_SECRET"),
            (re.compile(r"\b[0-9a-f]{16}\b"), "ID"),
            (re.compile(r"last \d+ s ago"), "last N s ago"),
            (re.compile(r"\b1[7-9]\d{8}\.\d+"), "EPOCH")]


def steady(text: str) -> str:
    """``text`` with the digits of its timestamps zeroed (their format kept), and token secrets, token and
    report ids, ages and times in seconds since the epoch replaced by placeholders."""
    text = TIMESTAMP.sub(lambda m: re.sub(r"\d", "0", m.group()), text)
    for pattern, placeholder in VOLATILE:
        text = pattern.sub(placeholder, text)
    return text


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str


class Twins:
    """One command line, run in-process and then through the server, compared."""

    def __init__(self, url: str, token: str, monkeypatch, capsys):
        self.url, self.token, self._env, self._capsys = url, token, monkeypatch, capsys

    def run(self, argv: list[str], *, remote: bool) -> Outcome:
        self._capsys.readouterr()
        if remote:
            self._env.setenv("SHIPYARD_URL", self.url)
            self._env.setenv("SHIPYARD_TOKEN", self.token)
        try:
            code = main(argv)
        finally:
            self._env.delenv("SHIPYARD_URL", raising=False)
            self._env.delenv("SHIPYARD_TOKEN", raising=False)
        captured = self._capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    def same(self, argv: list[str], *, code: int = 0, remote_argv: list[str] | None = None,
             err: str | None = None) -> tuple[Outcome, Outcome]:
        """Run ``argv`` both ways (``remote_argv`` through the server, when ids differ between the stores):
        the exit code is ``code`` both times, stdout the same but for :func:`steady`'s placeholders, and
        stderr contains ``err`` both times."""
        local = self.run(argv, remote=False)
        remote = self.run(remote_argv or argv, remote=True)
        assert local.code == code, (argv, local)
        assert remote.code == code, (argv, remote)
        assert steady(remote.out) == steady(local.out), (argv, local.out, remote.out)
        if err is not None:
            assert err in local.err and err in remote.err, (argv, local.err, remote.err)
        return local, remote


@pytest.fixture
def twins(tmp_path, monkeypatch, capsys) -> Callable[[Callable[[], None]], Twins]:
    """``twins(seed)``: ``seed()`` fills a fresh store, which is copied and served; a :class:`Twins` over both."""
    from shipyard.config import load_settings
    from shipyard.governance.directory import bootstrap_admin
    from shipyard.governance.tokens import authenticate_bearer, create_token
    from shipyard.server.app import create_app
    from shipyard.store.db import reset_engines

    original, copy = tmp_path / "in-process" / "home", tmp_path / "served" / "home"
    monkeypatch.setenv("SHIPYARD_HOME", str(original))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("SHIPYARD_ACTOR", ACTOR)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for name in ("SHIPYARD_DATABASE_URL", "MLFLOW_REGISTRY_URI", "SHIPYARD_URL", "SHIPYARD_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    servers: list[LiveServer] = []

    def make(seed: Callable[[], None]) -> Twins:
        reset_engines()
        seed()
        bootstrap_admin(ACTOR)
        token = create_token("cli", identity=ACTOR).secret
        authenticate_bearer(token)  # its first use, recorded in both stores alike
        reset_engines()
        shutil.copytree(original, copy)
        served = load_settings({**os.environ, "SHIPYARD_HOME": str(copy)})
        server = LiveServer(create_app(served, require_auth=True)).__enter__()
        servers.append(server)
        return Twins(server.url, token, monkeypatch, capsys)

    yield make
    for server in servers:
        server.__exit__(None, None, None)
    reset_engines()
