"""When drift retrains, and when it must not: severity, the spec's switch, the cooldown, a missing pipeline."""

from shipyard.governance.audit import append_event, read_events
from shipyard.monitoring.retrain import maybe_retrain
from shipyard.spec.monitoring import MonitoringSpec

from .test_alerts import critical_run  # noqa: F401  (fixture)

AUTO = MonitoringSpec(retrain="auto", cooldown="1h")


def test_only_critical_drift_with_retrain_auto_acts(critical_run):
    assert maybe_retrain(critical_run, MonitoringSpec()) is None
    calm = type(critical_run)(**{**critical_run.__dict__, "severity": "warning"})
    assert maybe_retrain(calm, AUTO) is None
    assert not [e for e in read_events(model="churn") if e.action.startswith("retrain")]


def test_without_a_pipeline_to_rerun_the_failure_is_recorded(critical_run):
    outcome = maybe_retrain(critical_run, AUTO)
    assert outcome["outcome"] == "failed" and "no pipeline YAML to rerun" in outcome["reason"]
    [event] = [e for e in read_events(model="churn") if e.action == "retrain_failed"]
    assert event.details["report_id"] == critical_run.id


def test_the_cooldown_skips_a_second_retrain(critical_run):
    append_event(actor="drift-monitor", action="retrain_triggered", model="churn", version="1",
                 details={"report_id": "earlier"})
    outcome = maybe_retrain(critical_run, AUTO)
    assert outcome["outcome"] == "skipped" and "cooldown" in outcome["reason"]
    assert [e.action for e in read_events(model="churn")][-1] == "retrain_skipped"
