"""A deployed model's live service-level figures as the whole fleet of gateways measured them.

Each gateway watching a model's stable version publishes its window (``fleet_store.publish``); the
figures add up the fresh windows per version, as the stable watch does before it judges them, so that
a reader sees the numbers the watch acts on.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from shipyard.config import Settings
from shipyard.serving.deployments import get_deployment
from shipyard.serving.fleet_store import PublishedWindow, fresh_published
from shipyard.serving.fleet_window import merged


@dataclass(frozen=True)
class ArmFigures:
    arm: str | None
    """The role the version holds in the deployment now (None: it left the deployment within the window)."""
    version: str
    gateways: int
    requests: int
    errors: int
    error_rate: float | None
    p99_ms: float | None
    window_s: float
    published_at: datetime


def fresh_for(settings: Settings) -> float:
    """How recent a gateway's window must be to count: the stable watch's own rule."""
    return 3 * settings.slo_watch_interval_s + 1


def fleet_figures(model: str, *, settings: Settings) -> list[ArmFigures]:
    """Per version with fresh windows, the fleet's requests, error rate and p99; stable first.

    Raises NotFoundError when the model is not deployed.
    """
    state = get_deployment(model, settings=settings)
    roles: dict[str, str] = {}
    for arm in state.arms:
        roles.setdefault(arm.version, arm.role)
    by_version: dict[str, list[PublishedWindow]] = defaultdict(list)
    for published in fresh_published(model, fresh_s=fresh_for(settings), settings=settings):
        by_version[published.version].append(published)
    figures = [_figures(version, roles.get(version), windows) for version, windows in by_version.items()]
    return sorted(figures, key=lambda f: (f.arm != "stable", f.arm is None, f.version))


def _figures(version: str, arm: str | None, windows: list[PublishedWindow]) -> ArmFigures:
    fleet = merged([w.window for w in windows])
    return ArmFigures(arm=arm, version=version, gateways=len(windows), requests=fleet.requests, errors=fleet.errors,
                      error_rate=fleet.errors / fleet.requests if fleet.requests else None, p99_ms=fleet.p99_ms(),
                      window_s=max(w.window_s for w in windows), published_at=max(w.published_at for w in windows))
