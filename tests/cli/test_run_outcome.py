"""What `shipyard run` says and exits with once its new version is gated: deployed, rolling out, or rejected."""

import sys
import textwrap
from pathlib import Path

import pytest

from shipyard.cli import main as shipyard
from shipyard.errors import GateFailedError
from shipyard.registry import lifecycle
from shipyard.serving.deployments import get_deployment

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

SPEC = textwrap.dedent("""\
    name: tiny
    data:
      source: {type: csv, path: churn.csv}
      target: churned
    split: {method: stratified, holdout: 0.25, seed: 1}
    features:
      - columns: [tenure_months, monthly_charges]
        transforms: [{kind: impute}, {kind: scale}]
    model:
      flavor: sklearn
      estimator: LogisticRegression
      params: {max_iter: 500, C: {C}}
""")
GATED = SPEC + textwrap.dedent("""\
    promotion:
      gates:
        thresholds: ["roc_auc >= {MIN_AUC}"]
    deployment:
      canary: {steps: [10, 100], min_dwell_s: 60, min_requests: 50}
""")


@pytest.fixture
def project(tmp_path, shipyard_home):
    sys.path.insert(0, str(ROOT / "examples" / "churn"))
    from generate import generate_churn

    generate_churn(n_rows=1500, seed=3).to_csv(tmp_path / "churn.csv", index=False)
    return tmp_path


def run(project, capsys, text, *extra):
    (project / "pipeline.yaml").write_text(text)
    code = shipyard(["run", str(project / "pipeline.yaml"), *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_run_says_where_each_new_version_went(project, capsys):
    code, out, _ = run(project, capsys, SPEC.replace("{C}", "1.0"))
    assert code == 0
    assert "not deployed: the spec has no promotion: gates, so version 1 stays a candidate" in out
    assert "shipyard models override tiny 1 --reason TEXT), then: shipyard deploy tiny 1" in out

    gated = GATED.replace("{MIN_AUC}", "0.5")
    code, out, _ = run(project, capsys, gated.replace("{C}", "0.9"))
    assert code == 0 and "deployed: version 2 is the stable arm of tiny" in out

    code, out, _ = run(project, capsys, gated.replace("{C}", "0.8"))
    assert code == 0
    assert "rollout started: version 3 takes live canary traffic from now on" in out
    assert "advances only while a gateway runs (shipyard serve); with none running, the rollout waits" in out
    assert {a.role: a.version for a in get_deployment("tiny").arms} == {"stable": "2", "canary": "3"}

    code, out, _ = run(project, capsys, gated.replace("{C}", "0.7"), "--no-deploy")
    assert code == 0 and "not deployed (--no-deploy); to serve it: shipyard deploy tiny 4" in out

    code, out, err = run(project, capsys, GATED.replace("{MIN_AUC}", "0.99").replace("{C}", "0.6"))
    assert code == GateFailedError.exit_code
    assert "error: gate failed: tiny v5 → rejected" in err and "shipyard models show tiny 5" in err
    assert "deployed" not in out and "rollout" not in out
    assert lifecycle.get_state("tiny", 5).state == "rejected"
    assert {a.role: a.version for a in get_deployment("tiny").arms} == {"stable": "2", "canary": "3"}


def test_a_run_acting_for_a_developer_leaves_its_first_version_waiting_for_an_approver(project, capsys, monkeypatch):
    from shipyard.config import load_settings
    from shipyard.governance.audit import read_events
    from shipyard.governance.identity import Identity, encode_identity
    from shipyard.governance.run_grants import issue_grant
    from shipyard.pipeline.background import IDENTITY_ENV
    from shipyard.pipeline.runner import new_run_id

    spec = "team: growth\n" + GATED.replace("{C}", "1.0").replace("{MIN_AUC}", "0.5")
    developer = Identity(name="dev", kind="user", roles={"growth": "developer"}, authenticated=True)
    monkeypatch.setenv(IDENTITY_ENV, encode_identity(developer))
    code, _, err = run(project, capsys, spec, "--run-id", new_run_id())
    assert code == 13 and "run identity refused" in err and "not a grant the server signed" in err
    run_id = new_run_id()
    monkeypatch.setenv(IDENTITY_ENV, issue_grant(developer, run_id, load_settings()))
    code, out, _ = run(project, capsys, spec, "--run-id", run_id)
    assert code == 0
    assert "rollout waits for an approver of team growth: dev may not deploy.production" in out
    assert lifecycle.get_state("tiny", "1").state == "staging"
    assert get_deployment("tiny").rollout["phase"] == "awaiting_approval"
    assert {(e.actor, e.authenticated) for e in read_events(model="tiny")} == {("dev", True)}
