"""The weekly cost digest: per-team totals and each team's dearest models, posted to webhooks.

``text`` posts ``{"text": ...}``, which Slack, Mattermost and Teams incoming webhooks accept;
``json`` posts the figures as data.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from shipyard.errors import BackendError, UsageError
from shipyard.governance.cost import NO_TEAM, CostLine, CostReport

FORMATS = ("text", "json")
TOP_MODELS = 3


@dataclass(frozen=True, kw_only=True)
class Delivery:
    url: str
    status: int | None
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.error is None


def digest(by_model: CostReport) -> dict[str, Any]:
    """Per team (dearest first): its total and its ``TOP_MODELS`` dearest models, from a report by model."""
    if by_model.by != "model":
        raise UsageError(f"a digest is built from cost by model, not by {by_model.by}", hint="report with by='model'")
    teams: dict[str, list[CostLine]] = {}
    for line in by_model.lines:
        teams.setdefault(line.team or NO_TEAM, []).append(line)
    rows = [{"team": team, "cost": round(sum(m.cost for m in models), 4),
             "compute_hours": round(sum(m.compute_hours for m in models), 4),
             "requests": sum(m.requests for m in models),
             "top_models": [{"model": m.key, "cost": round(m.cost, 4)} for m in models[:TOP_MODELS]]}
            for team, models in teams.items()]
    rows.sort(key=lambda row: (-row["cost"], row["team"]))
    return {"event": "shipyard.cost.digest", "currency": by_model.currency, "since": by_model.since.isoformat(),
            "until": by_model.until.isoformat(), "total": round(by_model.total, 4), "teams": rows,
            "unpriced_steps": by_model.unpriced_steps}


def render_text(body: dict[str, Any]) -> str:
    currency = body["currency"]
    lines = [f"*Cost {body['since'][:10]} to {body['until'][:10]}*: {body['total']:,.2f} {currency} in all"]
    for team in body["teams"]:
        top = ", ".join(f"{m['model']} {m['cost']:,.2f}" for m in team["top_models"])
        lines.append(f"• *{team['team']}*: {team['cost']:,.2f} {currency} (top: {top or 'none'})")
    if not body["teams"]:
        lines.append("nothing ran or was served")
    if body["unpriced_steps"]:
        lines.append(f"{body['unpriced_steps']} steps of older runs carry no recorded resources and are not priced")
    return "\n".join(lines)


def payload(body: dict[str, Any], format: str) -> dict[str, Any]:
    if format not in FORMATS:
        raise UsageError(f"no digest format {format!r}", hint=f"use one of {', '.join(FORMATS)}")
    return {"text": render_text(body)} if format == "text" else body


def check_targets(urls: list[str], format: str) -> None:
    """Refuse before anything is computed: no URL, a URL that is not http(s), an unknown format."""
    if format not in FORMATS:
        raise UsageError(f"no digest format {format!r}", hint=f"use one of {', '.join(FORMATS)}")
    if not urls:
        raise UsageError("no webhook to post the digest to", hint="pass --webhook URL (repeatable)")
    bad = [url for url in urls if not url.startswith(("http://", "https://"))]
    if bad:
        raise UsageError(f"{bad[0]!r} is not an http(s) URL", hint="give webhook URLs like https://hooks.slack.com/…")


def post(urls: list[str], body: dict[str, Any], *, format: str = "text", attempts: int = 3, backoff_s: float = 0.5,
         timeout_s: float = 10.0) -> list[Delivery]:
    """Post the digest to every URL (retried on failure); raises BackendError when any URL refused it."""
    import httpx

    check_targets(urls, format)
    data = payload(body, format)
    deliveries = []
    for url in urls:
        status, error = None, None
        for attempt in range(attempts):
            try:
                response = httpx.post(url, json=data, timeout=timeout_s)
                status = response.status_code
                error = None if response.is_success else f"HTTP {status}"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            if error is None:
                break
            if attempt + 1 < attempts:
                time.sleep(backoff_s * 2 ** attempt)
        deliveries.append(Delivery(url=url, status=status, error=error))
    failed = [d for d in deliveries if not d.delivered]
    if failed:
        raise BackendError(f"the digest did not reach {failed[0].url}: {failed[0].error}"
                           + (f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""),
                           headline="webhook failed", hint="check the URL and that the receiver is up; "
                                                           f"{len(deliveries) - len(failed)} of {len(deliveries)} "
                                                           "webhooks got it")
    return deliveries
