"""``/api/v1/audit``: the hash-chained log of every state change, and its verification."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timezone

from fastapi import APIRouter, Depends, Query

from shipyard.config import Settings
from shipyard.server.auth import Caller, caller
from shipyard.server.pagination import Page, Window, parse_sort, sort_query, window
from shipyard.server.problems import problem_responses
from shipyard.server.schemas import AuditEventOut, ChainOut
from shipyard.server.settings import app_settings

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", response_model=Page[AuditEventOut], summary="Audit events, oldest first by default",
            responses=problem_responses(400, 401, 403, 422, 503))
def audit_log(model: str | None = None,
              team: str | None = Query(None, description="Events about the models this team owns and about the "
                                                         "team itself (its members and policy)."),
              action: str | None = None, actor: str | None = None,
              since: datetime | None = Query(None, description="Only events at or after this time (UTC unless an "
                                                              "offset is given)."),
              sort: str = sort_query("seq", ("seq",)),
              page: Window = Depends(window), who: Caller = Depends(caller),
              settings: Settings = Depends(app_settings)) -> dict:
    from shipyard.governance.audit import page_events

    order = parse_sort(sort, ("seq",))
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=timezone.utc)
    with who.acting():
        events, total = page_events(model=model, team=team, action=action, actor=actor, since=since,
                                    descending=order.descending, offset=page.offset, limit=page.limit,
                                    settings=settings)
    return page.page([asdict(e) for e in events], total)


@router.get("/verify", response_model=ChainOut,
            summary="Check the hash chain and the signed checkpoints; ok is false and first_bad_seq names the "
                    "first edited, deleted, reordered or re-chained event", responses=problem_responses(401, 403, 503))
def verify(who: Caller = Depends(caller), settings: Settings = Depends(app_settings)) -> dict:
    from shipyard.governance.audit_verify import verify_log

    with who.acting():
        return asdict(verify_log(settings=settings))
