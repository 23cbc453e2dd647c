"""The user's API tokens, one per server URL, in ``$XDG_CONFIG_HOME/shipyard/credentials.toml``.

The file is created readable by its owner only (its folder likewise) and is refused when anyone else
may read it. ``SHIPYARD_TOKEN`` overrides the stored token.
"""

from __future__ import annotations

import json
import os
import stat
import tomllib
from pathlib import Path

from shipyard.errors import RefusedError, UsageError

FILE_MODE = 0o600
FOLDER_MODE = 0o700


def config_folder() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base).expanduser() / "shipyard"


def credentials_path() -> Path:
    return config_folder() / "credentials.toml"


def normalize_url(url: str) -> str:
    """``http(s)://host[:port][/prefix]`` without a trailing slash; anything else is a usage error."""
    text = url.strip().rstrip("/")
    scheme, _, rest = text.partition("://")
    if scheme.lower() not in ("http", "https") or not rest or any(c.isspace() or ord(c) < 32 for c in text):
        raise UsageError(f"'{url}' is not a server URL", hint="give it as http://HOST:PORT, e.g. "
                                                              "http://127.0.0.1:8000")
    return f"{scheme.lower()}://{rest}"


def read_tokens() -> dict[str, str]:
    """Server URL -> token, as stored; empty when there is no file yet."""
    path = credentials_path()
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return {}
    if stat.S_IMODE(mode) & 0o077:
        raise RefusedError(f"{path} may be read by other users (mode {stat.S_IMODE(mode):o}); it holds API tokens, "
                           "so it is not read", headline="credentials file not private",
                           hint=f"chmod 600 {path}")
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path} cannot be read as TOML: {exc}", headline="unreadable credentials file",
                         hint="fix or delete it, then log in again: shipyard login URL") from None
    servers = document.get("servers", {})
    return {url: entry["token"] for url, entry in servers.items()
            if isinstance(entry, dict) and isinstance(entry.get("token"), str)}


def token_for(url: str) -> str | None:
    """The token to send to ``url``: ``SHIPYARD_TOKEN`` when set, else the stored one."""
    override = os.environ.get("SHIPYARD_TOKEN")
    if override:
        return override.strip()
    return read_tokens().get(normalize_url(url))


def store_token(url: str, token: str) -> Path:
    tokens = read_tokens()
    tokens[normalize_url(url)] = _checked_token(token)
    return _write(tokens)


def forget_token(url: str) -> bool:
    """Remove the token stored for ``url``; whether there was one."""
    tokens = read_tokens()
    if tokens.pop(normalize_url(url), None) is None:
        return False
    _write(tokens)
    return True


def _checked_token(token: str) -> str:
    token = token.strip()
    if not token or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in token):
        raise UsageError("the token is empty or contains spaces or control characters",
                         hint="paste the token exactly as `shipyard tokens create` printed it")
    return token


def _write(tokens: dict[str, str]) -> Path:
    """Replace the file in one step with a file created 0600, in a folder created 0700."""
    path = credentials_path()
    folder = path.parent
    if not folder.exists():
        folder.mkdir(mode=FOLDER_MODE, parents=True)
        os.chmod(folder, FOLDER_MODE)
    lines = ["# shipyard API tokens, one per server (written by `shipyard login`)"]
    for url, token in sorted(tokens.items()):
        # JSON strings without ASCII escaping are TOML basic strings for URLs and tokens (no control characters).
        lines += ["", f"[servers.{json.dumps(url, ensure_ascii=False)}]",
                  f"token = {json.dumps(token, ensure_ascii=False)}"]
    staging = folder / f".{path.name}.{os.getpid()}.tmp"
    descriptor = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
        os.chmod(staging, FILE_MODE)
        os.replace(staging, path)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise
    return path
