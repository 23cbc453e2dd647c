"""The monitoring loop: drift run → alerts on a severity change → retrain when critical."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shipyard.config import Settings, load_settings
from shipyard.errors import ShipyardError
from shipyard.monitoring.alerts import Alert, notify
from shipyard.monitoring.retrain import maybe_retrain
from shipyard.monitoring.runs import DriftRun, compute_drift, history
from shipyard.spec.monitoring import MonitoringSpec


@dataclass
class Check:
    model: str
    run: DriftRun | None = None
    alerts: list[Alert] = field(default_factory=list)
    retrain: dict[str, Any] | None = None
    error: str | None = None


def check(model: str, *, window_s: float | None = None, settings: Settings | None = None,
          alert_options: dict[str, Any] | None = None) -> Check:
    """One round for one model: a stored drift report, alerts if its severity changed, a retrain if due."""
    settings = settings or load_settings()
    previous = history(model, limit=1, settings=settings)
    run = compute_drift(model, window_s=window_s, settings=settings)
    spec = MonitoringSpec.model_validate(run.report["thresholds"])
    alerts = notify(run, previous[0].severity if previous else None, spec, settings=settings,
                    **(alert_options or {}))
    return Check(model=model, run=run, alerts=alerts, retrain=maybe_retrain(run, spec, settings=settings))


def watch(models: list[str], *, every_s: float, iterations: int | None = None, window_s: float | None = None,
          settings: Settings | None = None, on_check: Callable[[Check], None] = lambda c: None) -> list[Check]:
    """Check every model every ``every_s`` seconds; a model that cannot be judged now is reported and retried."""
    done: list[Check] = []
    round_ = 0
    while iterations is None or round_ < iterations:
        started = time.monotonic()
        for model in models:
            try:
                outcome = check(model, window_s=window_s, settings=settings)
            except ShipyardError as exc:
                outcome = Check(model=model, error=exc.render())
            on_check(outcome)
            done.append(outcome)
        round_ += 1
        if iterations is None or round_ < iterations:
            time.sleep(max(0.0, every_s - (time.monotonic() - started)))
    return done
