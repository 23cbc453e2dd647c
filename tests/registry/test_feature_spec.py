"""Each version's feature spec, and the check that today's data source and contract still feed it — through
real deploys and rollbacks on SQLite and PostgreSQL."""

import json
import textwrap

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from shipyard.config import load_settings
from shipyard.errors import RefusedError
from shipyard.governance.audit import read_events
from shipyard.registry import lifecycle
from shipyard.registry.feature_spec import build_feature_spec, feature_availability, feature_spec
from shipyard.serving.deployments import get_deployment
from shipyard.serving.traffic import deploy, rollback
from shipyard.spec.loader import parse_spec
from shipyard.tracking.setup import configure_mlflow
from lifecycle_moves import move
from signed_model import signed_model_folder

SPEC = textwrap.dedent("""\
    name: churn
    data:
      source: {type: csv, path: DATA}
      target: churned
    features:
      - columns: COLUMNS
        transforms: [{kind: impute}]
    model: {flavor: sklearn, estimator: LogisticRegression}
    """)


def register(client, tmp_path, columns: list[str], data: str, *, contract: str | None = None) -> str:
    """A version trained on ``columns`` of the CSV ``data``, registered with its feature spec."""
    text = SPEC.replace("DATA", data).replace("COLUMNS", json.dumps(columns))
    if contract:
        text += f"promotion:\n  gates:\n    schema: {{contract: {contract}}}\n"
    spec = parse_spec(text, source="pipeline.yaml", base_dir=tmp_path).spec
    inputs = pd.DataFrame({c: [1.0, 2.0] if c != "plan" else ["a", "b"] for c in columns})
    version = client.create_model_version("churn", source=signed_model_folder(tmp_path / "model")).version
    lifecycle.register_candidate("churn", version, actor="pipeline",
                                 details={"feature_spec": build_feature_spec(spec, inputs, tmp_path)})
    move("churn", version, "staging")
    return version


def write_csv(path, columns):
    pd.DataFrame({c: [1, 2] for c in [*columns, "churned"]}).to_csv(path, index=False)


@pytest.fixture
def churn(database_url, tmp_path):
    configure_mlflow(load_settings())
    client = MlflowClient()
    client.create_registered_model("churn")
    write_csv(tmp_path / "old.csv", ["tenure", "plan", "region"])
    write_csv(tmp_path / "new.csv", ["tenure", "plan"])
    return client


def test_a_version_records_what_it_needs(churn, tmp_path):
    version = register(churn, tmp_path, ["tenure", "plan", "region"], "old.csv")
    recorded = feature_spec("churn", version)
    assert recorded["columns"] == {"tenure": "float64", "plan": "str", "region": "float64"}
    assert recorded["data"]["source"]["path"] == "old.csv" and recorded["data"]["target"] == "churned"
    assert recorded["base_dir"] == str(tmp_path.resolve()) and recorded["contract"] is None
    assert recorded["transforms"] == [{"columns": ["tenure", "plan", "region"], "transforms": ["impute"],
                                       "function": None}]
    assert feature_availability("churn", version)["missing"] == {}


def test_rollback_to_a_version_whose_feature_the_source_dropped_is_refused(churn, tmp_path):
    first = register(churn, tmp_path, ["tenure", "plan", "region"], "old.csv")
    deploy("churn", first, actor="alice")
    second = register(churn, tmp_path, ["tenure", "plan"], "new.csv")
    deploy("churn", second, actor="alice")
    before = get_deployment("churn")
    with pytest.raises(RefusedError) as refused:
        rollback("churn", actor="bob", reason="latency")
    assert refused.value.headline == "features not available"
    assert "rolling churn back to version 1 would break it: the data source of version 2 (csv: new.csv) lacks " \
           "region, which it needs" in refused.value.message
    assert get_deployment("churn").revision == before.revision and lifecycle.production_version("churn") == "2"

    state = rollback("churn", actor="bob", reason="region restored by hand", force=True)
    assert state.stable_version == "1"
    event = [e for e in read_events(model="churn") if e.action == "rollback_promoted"][-1]
    assert event.details["forced"] and event.details["compatibility"]["features"]["missing"] == {
        "the data source of version 2 (csv: new.csv)": ["region"]}


def test_a_deploy_checks_the_source_and_the_contract(churn, tmp_path):
    first = register(churn, tmp_path, ["tenure", "plan"], "new.csv")
    deploy("churn", first, actor="alice")
    (tmp_path / "contract.json").write_text(json.dumps({"tenure": "double"}))
    contracted = register(churn, tmp_path, ["tenure", "plan"], "new.csv", contract="contract.json")
    with pytest.raises(RefusedError, match=r"churn version 2 cannot be deployed \(canary\): the serving contract "
                                           r".*contract.json lacks plan, which it needs"):
        deploy("churn", contracted, strategy="canary", actor="alice")
    (tmp_path / "contract.json").write_text(json.dumps({"tenure": "double", "plan": "string"}))
    assert deploy("churn", contracted, strategy="canary", actor="alice").arm("canary").version == "2"

    (tmp_path / "new.csv").unlink()
    with pytest.raises(RefusedError) as refused:
        deploy("churn", contracted, actor="alice")
    assert refused.value.headline == "features not checked"
    assert "the data source of version 2 (csv: new.csv) cannot be read" in refused.value.message
    assert lifecycle.get_state("churn", contracted).state == "staging"


def test_a_version_registered_without_a_feature_spec_is_deployed_as_before(churn, tmp_path):
    version = churn.create_model_version("churn", source=signed_model_folder(tmp_path / "model")).version
    lifecycle.register_candidate("churn", version, actor="pipeline")
    move("churn", version, "staging")
    assert feature_availability("churn", version) == {
        "checked": False, "why": "churn version 1 was registered without a feature spec", "missing": {}}
    assert deploy("churn", version, actor="alice").stable_version == "1"
