"""The credentials file: created private, refused when others may read it, one token per server."""

from __future__ import annotations

import stat
import tomllib

import pytest

from shipyard.client import credentials
from shipyard.errors import RefusedError, UsageError


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_stored_token_is_kept_in_a_private_file_in_a_private_folder(config_home):
    path = credentials.store_token("http://127.0.0.1:8000/", "shy_abc")
    assert path == config_home / "shipyard" / "credentials.toml"
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    assert tomllib.loads(path.read_text()) == {"servers": {"http://127.0.0.1:8000": {"token": "shy_abc"}}}
    assert credentials.token_for("http://127.0.0.1:8000") == "shy_abc"
    assert credentials.token_for("http://127.0.0.1:9000") is None


def test_tokens_for_several_servers_live_side_by_side_and_are_forgotten_one_at_a_time(config_home):
    credentials.store_token("http://a.example:8000", "shy_a")
    credentials.store_token("https://b.example", "shy_b\"quoted\\")
    credentials.store_token("http://a.example:8000", "shy_a2")
    assert credentials.read_tokens() == {"http://a.example:8000": "shy_a2", "https://b.example": "shy_b\"quoted\\"}
    assert credentials.forget_token("http://a.example:8000/") is True
    assert credentials.forget_token("http://a.example:8000") is False
    assert credentials.read_tokens() == {"https://b.example": "shy_b\"quoted\\"}
    assert mode(credentials.credentials_path()) == 0o600


def test_a_file_others_may_read_is_refused_with_the_chmod_to_fix_it(config_home):
    path = credentials.store_token("http://127.0.0.1:8000", "shy_abc")
    path.chmod(0o640)
    with pytest.raises(RefusedError) as refused:
        credentials.token_for("http://127.0.0.1:8000")
    assert refused.value.hint == f"chmod 600 {path}" and "640" in refused.value.message
    with pytest.raises(RefusedError):
        credentials.store_token("http://127.0.0.1:8000", "shy_other")
    assert "shy_abc" in path.read_text()  # nothing changed


def test_shipyard_token_overrides_the_stored_token(config_home, monkeypatch):
    credentials.store_token("http://127.0.0.1:8000", "shy_stored")
    monkeypatch.setenv("SHIPYARD_TOKEN", "shy_from_env")
    assert credentials.token_for("http://127.0.0.1:8000") == "shy_from_env"


@pytest.mark.parametrize("url", ["127.0.0.1:8000", "ftp://host", "http://", "http://host name"])
def test_a_url_that_is_not_a_server_address_is_a_usage_error(config_home, url):
    with pytest.raises(UsageError):
        credentials.store_token(url, "shy_abc")
    assert not credentials.credentials_path().exists()


@pytest.mark.parametrize("token", ["", "  ", "shy_a b", "shy_\x07"])
def test_a_token_with_spaces_or_control_characters_is_refused(config_home, token):
    with pytest.raises(UsageError):
        credentials.store_token("http://127.0.0.1:8000", token)
    assert not credentials.credentials_path().exists()


def test_a_file_that_is_not_toml_is_a_clear_error(config_home):
    path = credentials.store_token("http://127.0.0.1:8000", "shy_abc")
    path.write_text("servers = [")
    with pytest.raises(UsageError, match="cannot be read as TOML"):
        credentials.read_tokens()
