"""The audit log through the API, as the governance plane's own dataclasses."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from shipyard.client.remote import rebuild
from shipyard.governance.audit import Event
from shipyard.governance.audit_verify import Verification

if TYPE_CHECKING:
    from shipyard.client.http import ApiClient


def read_events(api: ApiClient, *, model: str | None = None, since: datetime | None = None) -> list[Event]:
    """Events (of ``model``, at or after ``since``), oldest first."""
    items = api.pages("/audit", model=model, since=since.isoformat() if since else None, sort="seq")
    return rebuild(list[Event], list(items))


def verify_log(api: ApiClient) -> Verification:
    """The chain and its signed checkpoints, as the server verified them."""
    return rebuild(Verification, api.get("/audit/verify"))
