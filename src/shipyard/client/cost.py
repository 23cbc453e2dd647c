"""Cost through the API, as the governance plane's own :class:`CostReport`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shipyard.client.remote import rebuild
from shipyard.governance.cost import CostLine, CostReport

if TYPE_CHECKING:
    from shipyard.client.http import ApiClient


def cost_report(api: ApiClient, *, since: str, by: str = "team", team: str | None = None,
                model: str | None = None) -> CostReport:
    """Every line of ``GET /cost``, page after page, with the report's window and totals."""
    lines: list[dict] = []
    offset: int | None = 0
    page: dict = {}
    while offset is not None:
        page = api.get("/cost", since=since, by=by, team=team, model=model, offset=offset, limit=500)
        lines.extend(page["items"])
        offset = page.get("next_offset")
    return CostReport(currency=page["currency"], since=rebuild_time(page["since"]), until=rebuild_time(page["until"]),
                      by=page["by"], total=page["total_cost"], lines=rebuild(list[CostLine], lines),
                      unpriced_steps=page["unpriced_steps"])


def rebuild_time(text: str):
    from datetime import datetime

    return datetime.fromisoformat(text)
