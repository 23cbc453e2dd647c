"""The KubeSchedulerConfiguration under deploy/ points at verbs the extender serves."""

from pathlib import Path

from ruamel.yaml import YAML

from shipyard.scheduling.extender import Extender
from shipyard.scheduling.extender_app import create_app

CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "kube-scheduler" / "scheduler-config.yaml"


def test_the_scheduler_configuration_wires_every_verb_the_extender_serves():
    config = YAML(typ="safe").load(CONFIG.read_text())
    assert (config["apiVersion"], config["kind"]) == ("kubescheduler.config.k8s.io/v1", "KubeSchedulerConfiguration")
    (extender,) = config["extenders"]
    served = {route.path for route in create_app(Extender()).routes if "POST" in getattr(route, "methods", ())}
    verbs = {extender[key] for key in ("filterVerb", "prioritizeVerb", "preemptVerb")}
    assert {f"/{verb}" for verb in verbs} == served
    assert extender["nodeCacheCapable"] is False
    assert set(extender) <= {"urlPrefix", "filterVerb", "prioritizeVerb", "preemptVerb", "bindVerb", "weight",
                             "enableHTTPS", "tlsConfig", "httpTimeout", "nodeCacheCapable", "managedResources",
                             "ignorable"}
