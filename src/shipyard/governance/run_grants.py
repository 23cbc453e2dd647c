"""Signed grants that let a run the server started act as the server's caller.

The server signs the caller's identity, the run's id and a short expiry with HMAC-SHA256 under a key
only its user can read (``$SHIPYARD_HOME/run-grant.key``, mode 0600). The run's process accepts the
identity only when the signature checks with that key, the grant names its own run and has not
expired, so setting the environment variable by hand forges nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from pathlib import Path

from shipyard.config import Settings
from shipyard.errors import BackendError, UnauthenticatedError
from shipyard.governance.identity import Identity, decode_identity, encode_identity

GRANT_LIFETIME_S = 600
"""How long after the server signs it the run's process may redeem a grant (it does so as it starts)."""
KEY_FILE = "run-grant.key"


def _key_path(settings: Settings) -> Path:
    return settings.home / KEY_FILE


def _key(settings: Settings, *, create: bool) -> bytes | None:
    path = _key_path(settings)
    if create and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another server process made it first
        else:
            with os.fdopen(descriptor, "w") as key_file:
                key_file.write(secrets.token_hex(32))
    try:
        if path.stat().st_mode & 0o077:
            return None  # readable by others: anyone could sign with it
        return bytes.fromhex(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _sign(key: bytes, body: bytes) -> str:
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def issue_grant(identity: Identity, run_id: str, settings: Settings) -> str:
    """The grant a process started for run ``run_id`` presents to act as ``identity``."""
    key = _key(settings, create=True)
    if key is None:
        raise BackendError(f"cannot sign the run's identity: {_key_path(settings)} is unreadable or readable by "
                           "other users", headline="run grant key unusable",
                           hint=f"delete {_key_path(settings)}; the server makes a new one (mode 0600)")
    body = json.dumps({"identity": encode_identity(identity), "run": run_id,
                       "expires": time.time() + GRANT_LIFETIME_S}, sort_keys=True).encode()
    return base64.urlsafe_b64encode(body).decode() + "." + _sign(key, body)


def redeem_grant(grant: str, run_id: str | None, settings: Settings) -> Identity:
    """The identity a valid grant for ``run_id`` carries; UnauthenticatedError for anything else."""
    def refused(why: str) -> UnauthenticatedError:
        return UnauthenticatedError(f"the run identity handed to this process is not valid: {why}",
                            headline="run identity refused",
                            hint="only the server hands a run its caller's identity; start the run without "
                                 "SHIPYARD_RUN_IDENTITY to run it as yourself")

    encoded, _, signature = grant.partition(".")
    try:
        body = base64.urlsafe_b64decode(encoded.encode())
    except ValueError:
        raise refused("it is not a grant the server signed") from None
    key = _key(settings, create=False)
    if key is None:
        raise refused(f"this home has no usable signing key ({_key_path(settings)})")
    if not signature or not hmac.compare_digest(_sign(key, body), signature):
        raise refused("its signature does not match the server's key")
    try:
        data = json.loads(body)
        identity = decode_identity(data["identity"])
        granted_run, expires = str(data["run"]), float(data["expires"])
    except (ValueError, TypeError, KeyError):
        raise refused("its content is malformed") from None
    if run_id is None or granted_run != run_id:
        raise refused(f"it was granted for run {granted_run}, not for this one")
    if time.time() > expires:
        raise refused("it has expired")
    return identity
