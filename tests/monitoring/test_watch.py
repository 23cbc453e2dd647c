"""The monitoring loop: each round stores a report; alerts only on a change; a model it cannot judge is reported."""

import time

import numpy as np

from shipyard.config import load_settings
from shipyard.monitoring.profile import build_profile
from shipyard.monitoring.references import save_profile
from shipyard.monitoring.runs import history
from shipyard.monitoring.watch import watch
from shipyard.spec.monitoring import MonitoringSpec

from .test_runs import _log, _traffic
from .webhook import Receiver


def test_rounds_alert_once_per_change(shipyard_home, monkeypatch):
    settings = load_settings()
    reference = _traffic(20_000, 0)
    with Receiver() as receiver:
        spec = MonitoringSpec.model_validate({"min_rows": 200, "webhooks": [{"url": receiver.url}]})
        save_profile("churn", "1", build_profile(reference, np.where(reference.tenure < 10, 1, 0),
                                                 task="classification"), spec, settings=settings)
        _log(settings, _traffic(2_000, 6, shift=0.8), at=time.time() - 30)
        monkeypatch.setattr("shipyard.monitoring.runs.served_version", lambda model, settings=None: "1")
        seen = []
        checks = watch(["churn", "ghost"], every_s=0, iterations=2, on_check=seen.append)
    assert [c.model for c in checks] == ["churn", "ghost", "churn", "ghost"] and seen == checks
    assert [c.run.severity for c in checks if c.run] == ["critical", "critical"]
    assert [len(c.alerts) for c in checks if c.run] == [1, 0] and len(receiver.received) == 1
    assert all("ghost" in c.error for c in checks if c.model == "ghost")
    assert len(history("churn")) == 2
