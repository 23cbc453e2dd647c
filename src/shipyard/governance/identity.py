"""Who is acting: ``SHIPYARD_ACTOR`` when set (CI, services), else the login name."""

from __future__ import annotations

import getpass
import os


def current_actor() -> str:
    actor = os.environ.get("SHIPYARD_ACTOR")
    if actor:
        return actor
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
