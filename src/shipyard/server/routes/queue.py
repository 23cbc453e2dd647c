"""``/api/v1/queue``: the runs waiting for their team's quota, in the order each team's runs are admitted."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Depends, Query

from shipyard.config import Settings
from shipyard.server.auth import Caller, caller
from shipyard.server.pagination import Page, Window, window
from shipyard.server.problems import problem_responses
from shipyard.server.schemas import QueueEntryOut
from shipyard.server.settings import app_settings

router = APIRouter(prefix="/queue", tags=["runs"])


@router.get("", response_model=Page[QueueEntryOut], summary="Queued runs by team, then by position",
            responses=problem_responses(401, 403, 422, 503))
def list_queue(team: str | None = Query(None, description="Only this team's queue."),
               page: Window = Depends(window), who: Caller = Depends(caller),
               settings: Settings = Depends(app_settings)) -> dict:
    from shipyard.governance.admission import queue

    with who.acting():
        entries = queue(team=team, settings=settings)
    return page.slice([asdict(e) for e in entries])
