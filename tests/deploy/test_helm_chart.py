"""The Helm chart renders with real Helm (the Go template engine, via helm-python-sdk) for the default
and the production values, and every object it renders is valid against Kubernetes' OpenAPI schemas."""

from pathlib import Path

import pytest
import yaml

helm = pytest.importorskip("helm_python", reason="helm-python-sdk is in the dev extra")
kubernetes_validate = pytest.importorskip("kubernetes_validate", reason="kubernetes-validate is in the dev extra")

CHART = Path(__file__).resolve().parents[2] / "deploy" / "helm" / "shipyard"
PRODUCTION = yaml.safe_load((CHART / "values-production.yaml").read_text())
KUBERNETES_VERSIONS = ("1.30", kubernetes_validate.latest_version())


def render(values: dict | None = None) -> list[dict]:
    manifests = helm.Chart.load(str(CHART)).render(values, name="shipyard", namespace="ml")
    return [doc for text in manifests.values() for doc in yaml.safe_load_all(text) if doc]


def find(objects: list[dict], kind: str, name: str) -> dict:
    [found] = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


@pytest.mark.parametrize("values", [None, PRODUCTION], ids=["default", "production"])
@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_rendered_object_is_valid_kubernetes(values, version):
    objects = render(values)
    assert objects
    for obj in objects:
        kubernetes_validate.validate(obj, version, strict=True)


def test_the_validation_catches_a_malformed_object():
    gateway = find(render(), "Deployment", "shipyard-gateway")
    gateway["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = "a minute"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(gateway, KUBERNETES_VERSIONS[0], strict=True)


def test_lint_finds_no_errors():
    for values in (None, PRODUCTION):
        report = helm.lint(str(CHART), values, strict=False)
        assert report["errors"] == [] and not [m for m in report["messages"] if m["severity"] >= 2], report


def test_default_values_run_the_server_and_one_gateway():
    kinds = sorted((o["kind"], o["metadata"]["name"]) for o in render())
    assert kinds == [("Deployment", "shipyard-gateway"), ("Deployment", "shipyard-server"),
                     ("Service", "shipyard-gateway"), ("Service", "shipyard-server"), ("ServiceAccount", "shipyard")]


def test_the_production_gateway_autoscales_drains_and_keeps_a_disruption_budget():
    objects = render(PRODUCTION)
    gateway = find(objects, "Deployment", "shipyard-gateway")
    pod = gateway["spec"]["template"]
    labels = pod["metadata"]["labels"]
    [container] = pod["spec"]["containers"]
    assert "replicas" not in gateway["spec"]  # the autoscaler owns the count
    assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
    assert container["args"][:2] == ["serve", "--host=0.0.0.0"] and "churn" in container["args"]
    assert "--log-durability=spool" in container["args"]
    grace = pod["spec"]["terminationGracePeriodSeconds"]
    assert grace == 90 and grace > container["lifecycle"]["preStop"]["sleep"]["seconds"] + 1

    hpa = find(objects, "HorizontalPodAutoscaler", "shipyard-gateway")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "shipyard-gateway"}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 20)
    assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    pdb = find(objects, "PodDisruptionBudget", "shipyard-gateway")
    assert pdb["spec"]["minAvailable"] == 2 and pdb["spec"]["minAvailable"] < hpa["spec"]["minReplicas"]
    service = find(objects, "Service", "shipyard-gateway")
    for selector in (pdb["spec"]["selector"]["matchLabels"], service["spec"]["selector"]):
        assert selector.items() <= labels.items()


def test_production_stores_everything_in_s3_and_postgres_from_secrets():
    objects = render(PRODUCTION)
    for name in ("shipyard-gateway", "shipyard-server", "shipyard-monitor"):
        [container] = find(objects, "Deployment", name)["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}
        assert env["SHIPYARD_ARTIFACTS"] == "s3://ml-platform/artifacts"
        assert env["SHIPYARD_PREDICTION_LOG"] == "s3://ml-platform/predictions"
        assert env["SHIPYARD_MLFLOW_ARTIFACTS"] == "s3://ml-platform/mlflow"
        assert env["SHIPYARD_DATABASE_URL"] == {"secretKeyRef": {"name": "shipyard-database", "key": "database-url"}}
        assert env["MLFLOW_TRACKING_URI"] == "http://shipyard-mlflow:5000"
        assert container["envFrom"] == [{"secretRef": {"name": "shipyard-aws"}}]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
    mlflow = find(objects, "Deployment", "shipyard-mlflow")["spec"]["template"]["spec"]["containers"][0]
    assert "--artifacts-destination=s3://ml-platform/mlflow" in mlflow["args"]


def test_the_monitor_watches_the_named_models():
    objects = render(PRODUCTION)
    monitor = find(objects, "Deployment", "shipyard-monitor")
    assert monitor["spec"]["replicas"] == 1 and monitor["spec"]["strategy"]["type"] == "Recreate"
    assert monitor["spec"]["template"]["spec"]["containers"][0]["args"] == ["monitor", "--watch", "--every=15m",
                                                                           "churn"]


def test_a_monitor_without_models_is_refused_at_render():
    with pytest.raises(helm.HelmError, match="monitor.models"):
        render({"monitor": {"enabled": True}})


def test_each_gateway_replica_is_told_its_resource_request_so_its_serving_time_is_charged_at_it():
    from shipyard.config import gateway_resources

    def told(values):
        [container] = find(render(values), "Deployment", "shipyard-gateway")["spec"]["template"]["spec"]["containers"]
        return {e["name"]: e.get("value") for e in container["env"]}.get("SHIPYARD_GATEWAY_RESOURCES")

    assert told(None) == "cpu=250m,memory=512Mi,gpu=0"
    assert gateway_resources(told(None), "helm") == {"cpu": 0.25, "memory": 512 * 2 ** 20, "gpu": 0.0}
    gpu = told({"gateway": {"resources": {"requests": {"cpu": "2", "memory": "8Gi", "nvidia.com/gpu": 1}}}})
    assert gateway_resources(gpu, "helm") == {"cpu": 2.0, "memory": 8 * 2 ** 30, "gpu": 1.0}
    assert told({"gateway": {"resources": {"requests": None}}}) is None
