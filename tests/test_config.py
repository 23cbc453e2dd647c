"""Settings from the environment: defaults, the prediction log's settings, and clear errors for bad values."""

import pytest

from shipyard.cli import main as shipyard
from shipyard.config import load_settings
from shipyard.errors import SpecError


def test_the_prediction_log_settings_default_to_a_one_second_buffer(tmp_path):
    settings = load_settings({"SHIPYARD_HOME": str(tmp_path)})
    assert (settings.prediction_log_flush_s, settings.prediction_log_durability) == (1.0, "buffered")
    assert settings.prediction_spool_root == tmp_path / "prediction-spool"


def test_the_prediction_log_settings_come_from_the_environment(tmp_path):
    settings = load_settings({"SHIPYARD_HOME": str(tmp_path), "SHIPYARD_PREDICTION_LOG_FLUSH_S": "0.25",
                              "SHIPYARD_PREDICTION_LOG_DURABILITY": "fsync"})
    assert (settings.prediction_log_flush_s, settings.prediction_log_durability) == (0.25, "fsync")


@pytest.mark.parametrize("name, value, needle", [
    ("SHIPYARD_PREDICTION_LOG_FLUSH_S", "soon", "SHIPYARD_PREDICTION_LOG_FLUSH_S=soon is not a flush interval"),
    ("SHIPYARD_PREDICTION_LOG_FLUSH_S", "0", "give seconds between 0.01 and 3600"),
    ("SHIPYARD_PREDICTION_LOG_FLUSH_S", "nan", "not a flush interval"),
    ("SHIPYARD_PREDICTION_LOG_DURABILITY", "always", "use one of buffered, spool, fsync"),
    ("SHIPYARD_GATEWAY_REQUIRE_TOKEN", "inference,admin", "names 'admin', which the gateway cannot require"),
    ("SHIPYARD_MIN_SHADOW", "soon", "SHIPYARD_MIN_SHADOW=soon is not a duration"),
    ("SHIPYARD_MIN_SHADOW", "-3h", "SHIPYARD_MIN_SHADOW=-3h is not a duration"),
    ("SHIPYARD_MIN_SHADOW", "24x", "SHIPYARD_MIN_SHADOW=24x is not a duration"),
    ("SHIPYARD_CHECKPOINT_EVERY", "0", "SHIPYARD_CHECKPOINT_EVERY=0 is not a positive whole number"),
    ("SHIPYARD_CHECKPOINT_EVERY", "often", "not a positive whole number of boosting rounds"),
    ("SHIPYARD_PREEMPTION_GRACE_S", "-5", "SHIPYARD_PREEMPTION_GRACE_S"),
    ("SHIPYARD_SLO_WATCH_INTERVAL_S", "0", "SHIPYARD_SLO_WATCH_INTERVAL_S must be a positive number of seconds"),
    ("SHIPYARD_SLO_WATCH_LEASE_S", "soon", "SHIPYARD_SLO_WATCH_LEASE_S must be a positive number of seconds"),
    ("SHIPYARD_PAGE_URL", "alertmanager:9093", "SHIPYARD_PAGE_URL=alertmanager:9093 is not an http"),
    ("SHIPYARD_PAGE_FORMAT", "sms", "SHIPYARD_PAGE_FORMAT=sms is not a page format; use one of alertmanager"),
])
def test_a_bad_setting_is_a_clear_error(tmp_path, name, value, needle):
    with pytest.raises(SpecError, match=needle) as caught:
        load_settings({"SHIPYARD_HOME": str(tmp_path), name: value})
    assert caught.value.headline == "invalid setting" and caught.value.hint


def test_serve_refuses_a_bad_durability_before_loading_anything(shipyard_home, capsys):
    assert shipyard(["serve", "--log-durability", "sometimes"]) == 2
    err = capsys.readouterr().err
    assert "error: invalid setting: --log-durability=sometimes is not a prediction-log durability" in err
    assert not shipyard_home.exists(), "nothing was created"


def test_serve_refuses_a_bad_flush_interval_from_the_environment(shipyard_home, monkeypatch, capsys):
    monkeypatch.setenv("SHIPYARD_PREDICTION_LOG_FLUSH_S", "-1")
    assert shipyard(["serve"]) == 2
    assert "SHIPYARD_PREDICTION_LOG_FLUSH_S=-1 is not a flush interval" in capsys.readouterr().err


def test_the_gateway_token_requirement_comes_from_the_environment(tmp_path):
    assert load_settings({"SHIPYARD_HOME": str(tmp_path)}).gateway_require_token == ()
    for text, required in (("metrics, inference", ("inference", "metrics")), ("inference", ("inference",)),
                           ("none", ())):
        settings = load_settings({"SHIPYARD_HOME": str(tmp_path), "SHIPYARD_GATEWAY_REQUIRE_TOKEN": text})
        assert settings.gateway_require_token == required


def test_serve_refuses_a_bad_token_requirement_before_loading_anything(shipyard_home, capsys):
    assert shipyard(["serve", "--require-token", "inference,everything"]) == 2
    err = capsys.readouterr().err
    assert "error: invalid setting: --require-token=inference,everything names 'everything'" in err
    assert "hint: e.g. inference,metrics" in err
    assert not shipyard_home.exists(), "nothing was created"


def test_the_mandatory_shadow_stage_is_off_by_default_and_a_duration_when_set(tmp_path):
    assert load_settings({"SHIPYARD_HOME": str(tmp_path)}).min_shadow_s == 0
    for text, seconds in (("24h", 86400), ("90m", 5400), ("3600", 3600), ("off", 0), ("0", 0), ("none", 0)):
        assert load_settings({"SHIPYARD_HOME": str(tmp_path), "SHIPYARD_MIN_SHADOW": text}).min_shadow_s == seconds


def test_storage_defaults_to_folders_under_the_home(tmp_path):
    settings = load_settings({"SHIPYARD_HOME": str(tmp_path)})
    assert settings.artifact_root == tmp_path / "artifacts"
    assert settings.prediction_log_root == tmp_path / "predictions"
    assert settings.mlflow_artifact_location == (tmp_path / "mlartifacts").as_uri()
    assert settings.audit_checkpoints == str(tmp_path / "artifacts" / "audit" / "checkpoints")


def test_storage_can_be_object_storage_or_another_folder(tmp_path):
    settings = load_settings({"SHIPYARD_HOME": str(tmp_path), "SHIPYARD_ARTIFACTS": "s3://team-bucket/artifacts/",
                              "SHIPYARD_PREDICTION_LOG": "s3://team-bucket/predictions",
                              "SHIPYARD_MLFLOW_ARTIFACTS": str(tmp_path / "elsewhere")})
    assert settings.artifact_root == "s3://team-bucket/artifacts"
    assert settings.audit_checkpoints == "s3://team-bucket/artifacts/audit/checkpoints"
    assert settings.prediction_log_root == "s3://team-bucket/predictions"
    assert settings.mlflow_artifact_location == (tmp_path / "elsewhere").as_uri()


@pytest.mark.parametrize("value, needle", [
    ("nosuchscheme://bucket/x", "names storage shipyard cannot open"),
    ("s3://", "names no bucket"),
])
def test_storage_shipyard_cannot_open_is_refused_when_settings_load(tmp_path, value, needle):
    with pytest.raises(SpecError, match=needle) as caught:
        load_settings({"SHIPYARD_HOME": str(tmp_path), "SHIPYARD_ARTIFACTS": value})
    assert caught.value.headline == "invalid setting" and caught.value.hint


def test_checkpoints_and_the_preemption_grace_default_and_come_from_the_environment(tmp_path):
    settings = load_settings({"SHIPYARD_HOME": str(tmp_path)})
    assert (settings.checkpoint_every, settings.preemption_grace_s) == (10, 30.0)
    settings = load_settings({"SHIPYARD_HOME": str(tmp_path), "SHIPYARD_CHECKPOINT_EVERY": "25",
                              "SHIPYARD_PREEMPTION_GRACE_S": "120"})
    assert (settings.checkpoint_every, settings.preemption_grace_s) == (25, 120.0)


def test_the_stable_watch_settings_have_defaults_and_come_from_the_environment(tmp_path):
    defaults = load_settings({"SHIPYARD_HOME": str(tmp_path)})
    assert (defaults.slo_watch_interval_s, defaults.slo_watch_lease_s) == (5.0, 15.0)
    assert (defaults.page_url, defaults.page_format) == (None, "alertmanager")
    set_ = load_settings({"SHIPYARD_HOME": str(tmp_path), "SHIPYARD_SLO_WATCH_INTERVAL_S": "0.5",
                         "SHIPYARD_SLO_WATCH_LEASE_S": "4", "SHIPYARD_PAGE_URL": "http://am:9093/api/v2/alerts",
                         "SHIPYARD_PAGE_FORMAT": "json"})
    assert (set_.slo_watch_interval_s, set_.slo_watch_lease_s) == (0.5, 4.0)
    assert (set_.page_url, set_.page_format) == ("http://am:9093/api/v2/alerts", "json")


def test_a_gateways_resource_request_comes_from_the_environment_and_a_bad_one_is_refused(tmp_path):
    home = {"SHIPYARD_HOME": str(tmp_path)}
    assert load_settings(home).gateway_resources == {}
    given = load_settings({**home, "SHIPYARD_GATEWAY_RESOURCES": "cpu=2, memory=4Gi, gpu=1, gpu_type=T4"})
    assert given.gateway_resources == {"cpu": 2.0, "memory": 4 * 2 ** 30, "gpu": 1.0, "gpu_type": "T4"}
    as_helm_writes_it = load_settings({**home, "SHIPYARD_GATEWAY_RESOURCES": "cpu=250m,memory=512Mi,gpu=0"})
    assert as_helm_writes_it.gateway_resources == {"cpu": 0.25, "memory": 512 * 2 ** 20, "gpu": 0.0}
    for bad, needle in (("cpu=-1", "cpu = -1 is negative"), ("disk=3", "'disk=3' is not one of"),
                        ("cpu", "'cpu' is not one of"), ("memory=lots", "'lots' is not a memory size"),
                        ("cpu=1,cpu=2", "given once")):
        with pytest.raises(SpecError, match="SHIPYARD_GATEWAY_RESOURCES") as caught:
            load_settings({**home, "SHIPYARD_GATEWAY_RESOURCES": bad})
        assert needle in caught.value.message and "cpu=2,memory=4GiB" in caught.value.hint
