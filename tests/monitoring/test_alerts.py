"""Webhook alerts to a real receiver on loopback: on severity changes only, retried, never sent twice."""

import time

import numpy as np
import pytest

from shipyard.config import load_settings
from shipyard.monitoring.alerts import list_alerts, notify
from shipyard.monitoring.profile import build_profile
from shipyard.monitoring.references import save_profile
from shipyard.monitoring.runs import compute_drift
from shipyard.spec.monitoring import MonitoringSpec

from .test_runs import _log, _traffic
from .webhook import Receiver


@pytest.fixture
def critical_run(shipyard_home):
    settings = load_settings()
    reference = _traffic(20_000, 0)
    profile = build_profile(reference, np.where(reference.tenure < 10, 1, 0), task="classification")
    save_profile("churn", "1", profile, MonitoringSpec(min_rows=200), settings=settings)
    _log(settings, _traffic(2_000, 5, shift=0.8), at=time.time() - 60)
    return compute_drift("churn", version="1", window_s=3600, settings=settings)


def _spec(*hooks):
    return MonitoringSpec.model_validate({"webhooks": list(hooks)})


def test_a_severity_change_reaches_json_and_slack_receivers_once(critical_run):
    with Receiver() as plain, Receiver() as slack:
        spec = _spec({"url": plain.url}, {"url": slack.url, "format": "slack"})
        alerts = notify(critical_run, "ok", spec)
        assert [a.status for a in alerts] == ["delivered", "delivered"]
        event = plain.received[0]
        assert event["event"] == "shipyard.drift.severity_changed" and event["severity"] == "critical"
        assert event["previous_severity"] == "ok" and event["report_id"] == critical_run.id
        assert set(event["drifted"]) == {"tenure", "monthly"}
        assert "*churn* v1 drift is *critical* (was ok)" in slack.received[0]["text"]
        assert notify(critical_run, "ok", spec) == []  # the same report is never sent twice
        assert notify(critical_run, "critical", spec) == []  # no change, no alert
        assert len(plain.received) == 1 and len(slack.received) == 1
    assert {a.target for a in list_alerts("churn")} == {plain.url, slack.url}


def test_failures_are_retried_then_recorded(critical_run):
    with Receiver(fail_first=2) as flaky:
        [alert] = notify(critical_run, "ok", _spec({"url": flaky.url}), backoff_s=0.01)
        assert alert.status == "delivered" and alert.attempts == 3 and len(flaky.received) == 1
    with Receiver(fail_first=5, status=400) as refusing:
        [alert] = notify(critical_run, "warning", _spec({"url": refusing.url}), backoff_s=0.01)
        assert alert.status == "failed" and alert.attempts == 1 and "HTTP 400" in alert.last_error
    [alert] = notify(critical_run, "ok", _spec({"url": "http://127.0.0.1:9/nobody"}), backoff_s=0.01)
    assert alert.status == "failed" and alert.attempts == 3 and "ConnectError" in alert.last_error


def test_quiet_changes_skip_hooks_that_only_want_critical(critical_run):
    warning = type(critical_run)(**{**critical_run.__dict__, "severity": "warning", "id": "w1"})
    with Receiver() as pager:
        assert notify(warning, "ok", _spec({"url": pager.url, "min_severity": "critical"})) == []
        assert pager.received == []


def test_alertmanager_receives_the_new_severity_firing_and_the_old_one_resolved(critical_run):
    from datetime import datetime

    from shipyard.governance.directory import record_owner
    from shipyard.store.db import session_scope

    with session_scope() as session:
        record_owner("churn", "growth", session=session)
    with Receiver() as alertmanager:
        spec = _spec({"url": alertmanager.url, "format": "alertmanager"})
        [alert] = notify(critical_run, "warning", spec)
        assert alert.status == "delivered"
        firing, resolved = alertmanager.received[0]
    assert firing["labels"] == {"alertname": "ShipyardDriftSeverity", "severity": "critical", "team": "growth",
                                "model": "churn", "version": "1"}
    assert resolved["labels"] == {**firing["labels"], "severity": "warning"}
    assert firing["annotations"]["report_id"] == critical_run.id
    assert firing["annotations"]["summary"] == "churn v1: drift is critical (was warning)"
    starts, ends = (datetime.fromisoformat(firing[k]) for k in ("startsAt", "endsAt"))
    assert (ends - starts).total_seconds() == 24 * 3600
    assert datetime.fromisoformat(resolved["endsAt"]) <= ends - (ends - starts)  # resolved now


def test_a_model_no_team_owns_is_sent_as_unowned(critical_run):
    calm = type(critical_run)(**{**critical_run.__dict__, "severity": "ok", "id": "calm"})
    with Receiver() as alertmanager:
        notify(calm, "critical", _spec({"url": alertmanager.url, "format": "alertmanager"}))
        [resolved] = alertmanager.received[0]
    assert resolved["labels"]["team"] == "unowned" and resolved["labels"]["severity"] == "critical"


def test_the_end_of_a_paged_breach_reads_as_resolved_in_every_page_format():
    from datetime import datetime, timedelta, timezone

    from shipyard.monitoring.alerts import SLO_ALERTNAME, slo_page, slo_resolved

    paged_at = datetime.now(timezone.utc) - timedelta(minutes=5)
    measured = {"window_s": 300, "fleet": {"requests": 240, "error_rate": 0.004, "p99_ms": 12.0}}
    [firing] = slo_page("churn", "3", ["error rate 9% > 1%"], team="growth", page_format="alertmanager",
                        why_not_rolled_back="no earlier version")
    [resolved] = slo_resolved("churn", "3", team="growth", page_format="alertmanager", paged_at=paged_at,
                              measured=measured)
    assert resolved["labels"] == firing["labels"] and resolved["labels"]["alertname"] == SLO_ALERTNAME
    assert datetime.fromisoformat(resolved["startsAt"]) == paged_at
    assert paged_at < datetime.fromisoformat(resolved["endsAt"]) <= datetime.now(timezone.utc)
    assert "240 requests, error rate 0.40% in the last 300 s" in resolved["annotations"]["description"]
    event = slo_resolved("churn", "3", team="growth", page_format="json", paged_at=paged_at, measured=measured)
    assert event["event"] == "shipyard.slo.resolved" and event["fleet"]["requests"] == 240
    assert event["paged_at"] == paged_at.isoformat()
    slack = slo_resolved("churn", "3", team="growth", page_format="slack", paged_at=paged_at, measured=measured)
    assert slack["text"].startswith(":white_check_mark: *churn* v3 is back within its service levels")
