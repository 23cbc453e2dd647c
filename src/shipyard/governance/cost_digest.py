"""The weekly cost digest: spend per team and per model, its change from the week before, the top movers.

The whole digest goes to the platform's webhook; each team's part (its spend, its models, its movers)
to the team's own (``governance.digest_targets``). ``text`` posts ``{"text": markdown}``, which Slack,
Mattermost and Teams incoming webhooks accept; ``html`` posts ``{"subject", "html", "text"}`` for a
mail bridge; ``json`` posts the figures with both renderings.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

from shipyard.errors import BackendError, UsageError
from shipyard.governance.cost import NO_TEAM, CostReport
from shipyard.governance.digest_render import render_html, render_markdown, subject
from shipyard.governance.digest_targets import FORMATS, DigestTarget

TOP_MODELS = 3
TOP_MOVERS = 3


@dataclass(frozen=True, kw_only=True)
class Delivery:
    target: DigestTarget
    status: int | None
    error: str | None

    @property
    def url(self) -> str:
        return self.target.url

    @property
    def delivered(self) -> bool:
        return self.error is None


def earlier(longer: CostReport, recent: CostReport) -> CostReport:
    """The part of ``longer`` (by model) before ``recent`` began: the previous window, from two that end together."""
    if longer.by != "model" or recent.by != "model":
        raise UsageError("the previous window is taken from cost by model", hint="report with by='model'")
    recent_lines = {line.key: line for line in recent.lines}
    lines = []
    for line in longer.lines:
        later = recent_lines.get(line.key)
        if later is None:
            lines.append(line)
            continue
        lines.append(replace(line, cost=line.cost - later.cost, compute_hours=line.compute_hours - later.compute_hours,
                             requests=line.requests - later.requests, records=line.records - later.records))
    return replace(longer, until=recent.since, total=longer.total - recent.total, lines=lines,
                   unpriced_steps=longer.unpriced_steps - recent.unpriced_steps)


def digest(current: CostReport, previous: CostReport) -> dict[str, Any]:
    """The whole digest from cost by model in this window and the one before it."""
    if current.by != "model" or previous.by != "model":
        raise UsageError("a digest is built from cost by model", hint="report with by='model'")
    before = {line.key: line for line in previous.lines}
    now = {line.key: line for line in current.lines}
    models = []
    for name in sorted(set(now) | set(before)):
        line, old = now.get(name), before.get(name)
        team = (line.team if line else None) or (old.team if old else None) or NO_TEAM
        models.append({"model": name, "team": team, **_change(line.cost if line else 0.0, old.cost if old else 0.0),
                       "compute_hours": round(line.compute_hours, 4) if line else 0.0,
                       "requests": line.requests if line else 0})
    models.sort(key=lambda m: (-m["cost"], m["model"]))
    teams: dict[str, list[dict[str, Any]]] = {}
    for model in models:
        teams.setdefault(model["team"], []).append(model)
    rows = [_team_row(team, team_models) for team, team_models in teams.items()]
    rows.sort(key=lambda row: (-row["cost"], row["team"]))
    return {"event": "shipyard.cost.digest", "scope": "platform", "currency": current.currency,
            "since": current.since.isoformat(), "until": current.until.isoformat(),
            "previous_since": previous.since.isoformat(),
            **_change(current.total, previous.total, prefix="total"), "teams": rows, "models": models,
            "movers": _movers(models), "unpriced_steps": current.unpriced_steps}


def team_part(body: dict[str, Any], team: str) -> dict[str, Any]:
    """What ``team`` is sent: its row, its models and its movers (zero spend when it spent nothing)."""
    row = next((r for r in body["teams"] if r["team"] == team), None) or _team_row(team, [])
    models = [m for m in body["models"] if m["team"] == team]
    totals = {"total": row["cost"], "previous_total": row["previous"], "total_change": row["change"],
              "total_change_pct": row["change_pct"]}
    return {**body, "scope": "team", "team": team, **totals, "teams": [row], "models": models,
            "movers": row["movers"], "unpriced_steps": 0}


def part_for(body: dict[str, Any], target: DigestTarget) -> dict[str, Any]:
    return body if target.team is None else team_part(body, target.team)


def payload(body: dict[str, Any], format: str) -> dict[str, Any]:
    if format not in FORMATS:
        raise UsageError(f"no digest format {format!r}", hint=f"use one of {', '.join(FORMATS)}")
    if format == "text":
        return {"text": render_markdown(body)}
    if format == "html":
        return {"subject": subject(body), "html": render_html(body), "text": render_markdown(body)}
    return {**body, "markdown": render_markdown(body), "html": render_html(body)}


def check_targets(urls: list[str], format: str) -> None:
    """Refuse before anything is computed: no URL, a URL that is not http(s), an unknown format."""
    if format not in FORMATS:
        raise UsageError(f"no digest format {format!r}", hint=f"use one of {', '.join(FORMATS)}")
    if not urls:
        raise UsageError("no webhook to post the digest to",
                         hint="pass --webhook URL (repeatable), or declare [digest] webhook and "
                              "[digest.teams.NAME] webhook in the price list (SHIPYARD_PRICES)")
    bad = [url for url in urls if not url.startswith(("http://", "https://"))]
    if bad:
        raise UsageError(f"{bad[0]!r} is not an http(s) URL", hint="give webhook URLs like https://hooks.slack.com/…")


def deliver(targets: list[DigestTarget], body: dict[str, Any], *, attempts: int = 3, backoff_s: float = 0.5,
            timeout_s: float = 10.0) -> list[Delivery]:
    """Post each target its part (retried on failure); raises BackendError when any target refused it."""
    import httpx

    deliveries = []
    for target in targets:
        data = payload(part_for(body, target), target.format)
        status, error = None, None
        for attempt in range(attempts):
            try:
                response = httpx.post(target.url, json=data, timeout=timeout_s)
                status = response.status_code
                error = None if response.is_success else f"HTTP {status}"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            if error is None:
                break
            if attempt + 1 < attempts:
                time.sleep(backoff_s * 2 ** attempt)
        deliveries.append(Delivery(target=target, status=status, error=error))
    failed = [d for d in deliveries if not d.delivered]
    if failed:
        raise BackendError(f"the digest did not reach {failed[0].url} ({failed[0].target.name}): {failed[0].error}"
                           + (f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""),
                           headline="webhook failed", hint="check the URL and that the receiver is up; "
                                                           f"{len(deliveries) - len(failed)} of {len(deliveries)} "
                                                           "webhooks got it")
    return deliveries


def post(urls: list[str], body: dict[str, Any], *, format: str = "text", **options: Any) -> list[Delivery]:
    """The whole digest to every URL."""
    check_targets(urls, format)
    return deliver([DigestTarget(url=url, format=format) for url in urls], body, **options)


def _change(now: float, before: float, *, prefix: str = "") -> dict[str, Any]:
    names = ("total", "previous_total", "total_change", "total_change_pct") if prefix else \
        ("cost", "previous", "change", "change_pct")
    now, before = round(now, 4), round(before, 4)
    change = round(now - before, 4)
    percent = round(change / before * 100, 1) if before else None
    return dict(zip(names, (now, before, change, percent), strict=True))


def _team_row(team: str, models: list[dict[str, Any]]) -> dict[str, Any]:
    return {"team": team, **_change(sum(m["cost"] for m in models), sum(m["previous"] for m in models)),
            "compute_hours": round(sum(m["compute_hours"] for m in models), 4),
            "requests": sum(m["requests"] for m in models),
            "top_models": [{"model": m["model"], "cost": m["cost"]} for m in models[:TOP_MODELS]],
            "models": [m["model"] for m in models], "movers": _movers(models)}


def _movers(models: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The models whose spend rose most and fell most."""
    def brief(m: dict[str, Any]) -> dict[str, Any]:
        return {key: m[key] for key in ("model", "team", "cost", "previous", "change", "change_pct")}

    rising = sorted((m for m in models if m["change"] > 0), key=lambda m: (-m["change"], m["model"]))
    falling = sorted((m for m in models if m["change"] < 0), key=lambda m: (m["change"], m["model"]))
    return {"increases": [brief(m) for m in rising[:TOP_MOVERS]],
            "decreases": [brief(m) for m in falling[:TOP_MOVERS]]}

