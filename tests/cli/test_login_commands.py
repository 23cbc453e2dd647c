"""``shipyard login | logout | whoami`` against a real server on loopback."""

from __future__ import annotations

import stat

from api_server import api_server, config_home  # noqa: F401  (fixtures)
from shipyard.cli import main


def test_login_checks_the_token_keeps_it_and_whoami_uses_it(api_server, monkeypatch, capsys, config_home):
    assert main(["login", api_server.url + "/", "--token", api_server.tokens["vera"]]) == 0
    out = capsys.readouterr().out
    path = config_home / "shipyard" / "credentials.toml"
    assert f"logged in to {api_server.url} as vera (user: viewer in growth); token kept in {path}" in out
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    monkeypatch.setenv("SHIPYARD_URL", api_server.url)
    assert main(["whoami"]) == 0
    assert capsys.readouterr().out == f"vera (user: viewer in growth) on {api_server.url}\n"
    assert main(["logout"]) == 0
    assert capsys.readouterr().out == f"logged out of {api_server.url}\n"
    assert main(["whoami"]) == 13
    err = capsys.readouterr().err
    assert "error: not authenticated:" in err and f"hint: log in: shipyard login {api_server.url} --token TOKEN" \
        in err


def test_a_token_the_server_does_not_know_is_not_kept(api_server, capsys, config_home):
    assert main(["login", api_server.url, "--token", "shy_unknown"]) == 13
    assert "not authenticated" in capsys.readouterr().err
    assert not (config_home / "shipyard" / "credentials.toml").exists()


def test_login_asks_for_the_token_when_it_is_not_given(api_server, monkeypatch, capsys):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(api_server.tokens["root"] + "\n"))
    assert main(["login", api_server.url]) == 0
    assert "as root (user: platform admin)" in capsys.readouterr().out


def test_whoami_in_process_names_the_local_identity(shipyard_home, config_home, monkeypatch, capsys):
    monkeypatch.setenv("SHIPYARD_ACTOR", "alice")
    assert main(["whoami"]) == 0
    assert capsys.readouterr().out == "alice (local: unauthenticated) (in-process)\n"


def test_logout_without_a_server_is_a_usage_error(shipyard_home, config_home, capsys):
    assert main(["logout"]) == 2
    assert "shipyard logout URL" in capsys.readouterr().err
