"""Each gateway records the time it served each model, hour by hour, beside the prediction log."""

import dataclasses
import json
from datetime import datetime, timedelta, timezone

from shipyard.serving.serving_time import FOLDER, ServingClock, served_time

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc).timestamp()
RESOURCES = {"cpu": 2.0, "memory": 4 * 2 ** 30}


class Clock:
    def __init__(self):
        self.now = T0

    def __call__(self):
        return self.now


def test_a_gateway_shares_its_time_equally_among_the_models_it_routes_hour_by_hour(tmp_path):
    clock, routed = Clock(), ["churn"]
    serving = ServingClock(lambda: routed, tmp_path, RESOURCES, gateway_id="g1", clock=clock)
    clock.now += 600
    serving.tick()
    routed.append("fraud")
    clock.now += 1800 + 1200  # 09:40 -> 10:30, across the hour
    serving.tick()
    routed.clear()
    clock.now += 300
    serving.tick()
    assert serving.seconds == {"2026-03-02T09": {"churn": 600 + 600, "fraud": 600},
                               "2026-03-02T10": {"churn": 900, "fraud": 900}}
    serving.flush()
    written = json.loads((tmp_path / FOLDER / "hour=2026-03-02T10" / "gateway=g1.json").read_text())
    assert written == {"gateway": "g1", "resources": RESOURCES, "seconds": {"churn": 900, "fraud": 900}}


def test_each_flush_replaces_the_hours_file_so_it_holds_the_whole_hour(tmp_path):
    clock = Clock()
    serving = ServingClock(lambda: ["churn"], tmp_path, RESOURCES, gateway_id="g1", clock=clock)
    for _ in range(3):
        clock.now += 60
        serving.record()
    files = sorted((tmp_path / FOLDER).rglob("*.json"))
    assert [f.relative_to(tmp_path).as_posix() for f in files] == [f"{FOLDER}/hour=2026-03-02T09/gateway=g1.json"]
    assert json.loads(files[0].read_text())["seconds"] == {"churn": 180}
    assert not list((tmp_path / FOLDER).rglob("*.tmp"))


def test_served_time_reads_every_gateways_hours_in_the_window_by_model_and_day(tmp_path):
    clock = Clock()
    for gateway, resources in (("g1", RESOURCES), ("g2", {"cpu": 1.0, "gpu": 1.0, "gpu_type": "T4"})):
        clock.now = T0 + 3600 * 24  # the next day, 09:30 -> 09:50
        serving = ServingClock(lambda: ["churn"], tmp_path, resources, gateway_id=gateway, clock=clock)
        clock.now += 1200
        serving.record()
    since = datetime(2026, 3, 3, 9, 45, tzinfo=timezone.utc)
    found = served_time(tmp_path, since=since, until=since + timedelta(hours=1))
    assert found == {"churn": {"2026-03-03": [(1200.0, RESOURCES),
                                              (1200.0, {"cpu": 1.0, "gpu": 1.0, "gpu_type": "T4"})]}}
    assert served_time(tmp_path, since=since + timedelta(hours=1), until=since + timedelta(hours=2)) == {}
    assert served_time(tmp_path / "nothing", since=since, until=since) == {}


def test_a_built_gateway_records_its_serving_time_with_its_resource_request_when_it_stops(tracked):
    from shipyard.serving.server import build_gateway

    settings = dataclasses.replace(tracked["settings"], gateway_resources=RESOURCES)
    gateway = build_gateway([f"synth:{tracked['result'].model_version}"], settings=settings, compile_models=False)
    gateway.start()
    gateway.stop()
    files = list((settings.prediction_log_root / FOLDER).rglob(f"gateway={gateway.serving_clock.gateway_id}.json"))
    assert len(files) == 1
    written = json.loads(files[0].read_text())
    assert written["resources"] == RESOURCES and set(written["seconds"]) == {"synth"}
    assert written["seconds"]["synth"] > 0


def test_a_gateway_stops_even_when_its_last_serving_time_cannot_be_written(tmp_path, caplog):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the log's folder should be")
    clock = Clock()
    serving = ServingClock(lambda: ["churn"], blocked, RESOURCES, gateway_id="g1", clock=clock)
    clock.now += 60
    serving.stop()
    assert "could not be written" in caplog.text
    assert serving.seconds == {"2026-03-02T09": {"churn": 60}}, "kept, to be written by a later flush"
