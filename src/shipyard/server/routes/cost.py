"""``/api/v1/cost``: what runs and deployments cost, by team, model or run."""

from __future__ import annotations

from dataclasses import asdict
from typing import Literal

from fastapi import APIRouter, Depends, Query

from shipyard.config import Settings
from shipyard.server.auth import Caller, caller
from shipyard.server.pagination import Window, window
from shipyard.server.problems import problem_responses
from shipyard.server.schemas import CostPage
from shipyard.server.settings import app_settings

router = APIRouter(prefix="/cost", tags=["cost"])


@router.get("", response_model=CostPage, summary="Cost of the runs and serving in a window, added up",
            responses=problem_responses(400, 401, 403, 422, 503))
def cost(since: str = Query("7d", pattern=r"^[1-9][0-9]{0,4}[mhdw]$",
                            description="How far back: minutes, hours, days or weeks, e.g. 30m, 12h, 7d, 2w."),
         by: Literal["team", "model", "run"] = "team", team: str | None = None, model: str | None = None,
         page: Window = Depends(window), who: Caller = Depends(caller),
         settings: Settings = Depends(app_settings)) -> dict:
    from shipyard.governance.cost import cost_report, parse_span, require_prices, window_until_now
    from shipyard.governance.prices import load_prices
    from shipyard.serving.serving_time import served_time
    from shipyard.serving.usage import served_requests

    start, until = window_until_now(parse_span(since))
    with who.acting():
        prices = require_prices(load_prices(settings))
        found = cost_report(prices, since=start, until=until, by=by, team=team, model=model, settings=settings,
                            requests=served_requests(settings.prediction_log_root, since=start, until=until),
                            serving_time=served_time(settings.prediction_log_root, since=start, until=until))
    body = page.slice([asdict(line) for line in found.lines])
    body.update(currency=found.currency, since=found.since, until=found.until, by=found.by, total_cost=found.total,
                unpriced_steps=found.unpriced_steps)
    return body
