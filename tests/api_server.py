"""Fixtures: a real ``shipyard server`` app on loopback over a fresh SHIPYARD_HOME, requiring tokens, and a private config
folder for the credentials file."""

from __future__ import annotations

import pytest

from live_server import LiveServer


@pytest.fixture
def config_home(tmp_path, monkeypatch):
    """XDG_CONFIG_HOME in a temporary folder; SHIPYARD_URL and SHIPYARD_TOKEN unset."""
    folder = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder))
    monkeypatch.delenv("SHIPYARD_URL", raising=False)
    monkeypatch.delenv("SHIPYARD_TOKEN", raising=False)
    return folder


@pytest.fixture
def api_server(shipyard_home, config_home):
    """The API requiring tokens, with a platform admin 'root' and a viewer 'vera' of team growth; their tokens."""
    from shipyard.config import load_settings
    from shipyard.governance import directory
    from shipyard.governance.identity import acting_as
    from shipyard.governance.tokens import authenticate_bearer, create_token
    from shipyard.server.app import create_app

    directory.bootstrap_admin("root")
    tokens = {"root": create_token("laptop", identity="root").secret}
    with acting_as(authenticate_bearer(tokens["root"])):
        directory.create_team("growth")
        directory.add_member("growth", "vera", "viewer")
        tokens["vera"] = create_token("laptop", identity="vera").secret
    with LiveServer(create_app(load_settings(), require_auth=True)) as server:
        server.tokens = tokens
        yield server
