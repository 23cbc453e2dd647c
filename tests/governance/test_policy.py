"""The role x operation table, asked through the plane functions in-process, as each role of one team.

Every call is arranged so that, once authorized, the plane function refuses for another reason
(the version is archived, nothing is deployed, the data file is missing) and changes nothing:
a ForbiddenError then means the policy said no, and anything else means it said yes.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from seeded_models import seed_model

from shipyard.errors import ForbiddenError, ShipyardError
from shipyard.governance import directory
from shipyard.governance.audit import read_events
from shipyard.governance.identity import ROLES, Identity, acting_as, local_identity
from shipyard.governance.policy import OPERATIONS, RANK, allowed, authorize
from shipyard.pipeline import api as pipelines
from shipyard.registry import lifecycle
from shipyard.serving import shadow_stage, traffic
from shipyard.spec.loader import parse_spec

ROOT = Path(__file__).resolve().parents[2]
MODEL = {"fraud": "fraud-score", "risk": "risk-score"}


def spec_for(team: str, tmp_path: Path):
    text = (ROOT / "examples/churn/pipeline.yaml").read_text()
    text = text.replace("name: churn\nteam: growth", f"name: {MODEL[team]}\nteam: {team}")
    return parse_spec(text, source="pipeline.yaml", base_dir=tmp_path)


def calls(model: str, team: str, tmp_path: Path):
    """One plane-function call per operation; each is refused after authorization for a non-policy reason."""
    return {
        "runs.start": lambda: pipelines.run(spec_for(team, tmp_path)),
        "lifecycle.promote": lambda: lifecycle.transition(model, 1, "staging", actor="x"),
        "lifecycle.reject": lambda: lifecycle.transition(model, 1, "rejected", actor="x"),
        "lifecycle.archive": lambda: lifecycle.transition(model, 1, "archived", actor="x"),
        "lifecycle.approve": lambda: lifecycle.approve(model, 1, approver="x"),
        "lifecycle.approve (production)": lambda: lifecycle.transition(model, 1, "production", actor="x"),
        "lifecycle.override": lambda: lifecycle.override_gates(model, 1, reason="r"),
        "shadow.override": lambda: shadow_stage.override_shadow(model, 1, reason="r"),
        "rollback": lambda: lifecycle.rollback(model, actor="x", reason="r"),
        "rollback (deployment)": lambda: traffic.rollback(model, actor="x", reason="r"),
        "deploy.canary": lambda: traffic.deploy(model, 1, strategy="canary", actor="x"),
        "deploy.canary (shadow)": lambda: traffic.deploy(model, 1, strategy="shadow", actor="x"),
        "deploy.production": lambda: traffic.deploy(model, 1, actor="x"),
        "deploy.production (stable arm)": lambda: traffic.set_traffic(model, {"stable": ("1", None)}, actor="x"),
        "traffic.set": lambda: traffic.set_traffic(model, {"canary": ("1", 0.2)}, actor="x"),
        "teams.manage": lambda: directory.remove_member(team, "nobody"),
    }


def answer(call) -> str:
    try:
        call()
    except ForbiddenError as exc:
        return f"forbidden: {exc.message}"
    except ShipyardError:
        return "allowed"
    raise AssertionError("the call was meant to be refused after authorization, and it succeeded")


@pytest.fixture
def two_teams(shipyard_home, tmp_path):
    for team in ("fraud", "risk"):
        directory.create_team(team)
        seed_model(MODEL[team], team, {"1": "archived"})
    return tmp_path


@pytest.mark.parametrize("role", ROLES)
def test_each_role_on_its_own_team_and_on_another(two_teams, role):
    member = Identity(name="pat", kind="user", roles={"fraud": role}, authenticated=True)
    before = len(read_events())
    for team in ("fraud", "risk"):
        for label, call in calls(MODEL[team], team, two_teams).items():
            operation = label.split(" (")[0]
            expected = team == "fraud" and RANK[role] >= RANK[OPERATIONS[operation]]
            with acting_as(member):
                got = answer(call)
            assert (got == "allowed") == expected, (role, team, label, got)
            if not expected:
                held = f"it is {role} in team fraud" if team == "fraud" else "it has no role in team risk"
                assert got == (f"forbidden: pat may not {operation} for team {team}: {held}, and {operation} "
                               f"needs {OPERATIONS[operation]} or above"), got
    assert len(read_events()) == before


def test_the_local_identity_and_a_platform_admin_may_do_everything(two_teams):
    admin = Identity(name="root", kind="user", platform_admin=True, authenticated=True)
    for identity in (local_identity(), admin):
        for team in ("fraud", "risk"):
            for label, call in calls(MODEL[team], team, two_teams).items():
                with acting_as(identity):
                    assert answer(call) == "allowed", (identity.name, label)


def test_a_model_with_no_team_is_for_platform_admins_only():
    alice = Identity(name="alice", kind="user", roles={"fraud": "admin"}, authenticated=True)
    with pytest.raises(ForbiddenError, match="belongs to no team") as refused:
        authorize(alice, "deploy.canary", team=None)
    assert "team:" in refused.value.hint
    assert allowed(Identity(name="r", kind="user", platform_admin=True, authenticated=True), "deploy.canary",
                   team=None)
    with pytest.raises(ForbiddenError, match="only a platform admin"):
        authorize(alice, "teams.create", team="fraud")
    with pytest.raises(ValueError, match="unknown operation"):
        authorize(alice, "models.delete", team="fraud")


def test_a_spec_cannot_take_over_another_teams_model(two_teams):
    text = (ROOT / "examples/churn/pipeline.yaml").read_text().replace(
        "name: churn\nteam: growth", "name: fraud-score\nteam: risk")
    with pytest.raises(ShipyardError, match="owned by team fraud, but the spec says team risk") as refused:
        pipelines.run(parse_spec(text, source="pipeline.yaml", base_dir=two_teams))
    assert "team: fraud" in refused.value.hint


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_teams_on_one_postgresql_store(database_url, tmp_path):
    from shipyard.governance.audit import verify_chain
    from shipyard.governance.tokens import authenticate_bearer, create_token

    directory.bootstrap_admin("root")
    root = authenticate_bearer(create_token("setup", identity="root").secret)
    with acting_as(root):
        directory.create_team("fraud")
        directory.create_team("risk", separation_of_duties=False)
        for team, name, role in (("fraud", "alice", "approver"), ("fraud", "carol", "approver"),
                                 ("fraud", "vic", "viewer"), ("risk", "rita", "approver")):
            directory.add_member(team, name, role)
        signed_in = {name: authenticate_bearer(create_token("laptop", identity=name).secret)
                     for name in ("alice", "carol", "vic", "rita")}
    seed_model("fraud-score", "fraud", {"1": "staging"}, produced_by="alice")
    seed_model("risk-score", "risk", {"1": "staging"}, produced_by="rita")

    with acting_as(signed_in["rita"]), pytest.raises(ForbiddenError) as refused:
        traffic.deploy("fraud-score", 1, strategy="canary", actor="rita")
    assert refused.value.message == ("rita may not deploy.canary for team fraud: it has no role in team fraud, "
                                     "and deploy.canary needs developer or above")
    with acting_as(signed_in["vic"]):
        for call in calls("fraud-score", "fraud", tmp_path).values():
            with pytest.raises(ForbiddenError, match="vic may not .* it is viewer in team fraud"):
                call()

    with acting_as(signed_in["alice"]), pytest.raises(ForbiddenError, match="separation of duties"):
        lifecycle.approve("fraud-score", 1)
    with acting_as(signed_in["carol"]):
        approved = lifecycle.approve("fraud-score", 1, approver="someone-else", reason="reviewed the card")
    assert approved.approved_by == "carol"
    with acting_as(signed_in["rita"]):  # separation of duties is off in team risk
        assert lifecycle.approve("risk-score", 1).approved_by == "rita"

    approvals = [(e.model, e.actor, e.authenticated) for e in read_events() if e.action == "approved"]
    assert approvals == [("fraud-score", "carol", True), ("risk-score", "rita", True)]
    setup = [(e.action, e.actor, e.authenticated) for e in read_events() if e.action != "approved"]
    assert setup[0] == ("admin_bootstrapped", local_identity().name, False)
    assert {actor for _, actor, authenticated in setup[1:] if authenticated} == {"root"}
    assert verify_chain().ok


def test_a_run_acts_as_who_started_it_down_to_its_steps(shipyard_home, tmp_path):
    import numpy as np
    import pandas as pd

    from shipyard.governance.tokens import authenticate_bearer, create_token

    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"area": rng.uniform(30, 200, size=300), "rooms": rng.integers(1, 6, size=300)})
    frame["price"] = 2 * frame["area"] + 15 * frame["rooms"] + rng.normal(scale=10, size=300)
    frame.to_csv(tmp_path / "prices.csv", index=False)
    spec = parse_spec("name: prices\nteam: fraud\ndata: {source: {type: csv, path: prices.csv}, target: price}\n"
                      "split: {method: random, holdout: 0.3, seed: 2}\n"
                      "features: [{columns: [area, rooms], transforms: [{kind: scale}]}]\n"
                      "model: {flavor: sklearn, estimator: Ridge}\n", source="pipeline.yaml", base_dir=tmp_path)
    directory.create_team("fraud")
    directory.add_member("fraud", "alice", "approver")
    alice = authenticate_bearer(create_token("laptop", identity="alice").secret)

    with acting_as(alice):
        assert pipelines.run(spec).status == "succeeded"
        version = lifecycle.list_states("prices")[0].version
        with pytest.raises(ForbiddenError, match="alice started the run that produced prices version"):
            lifecycle.approve("prices", version)
    registered = [e for e in read_events(model="prices") if e.action == "registered"]
    assert [(e.actor, e.authenticated) for e in registered] == [("alice", True)]
    assert directory.model_team("prices") == "fraud"


def test_the_readme_roles_table_is_the_policy_table():
    import re

    from shipyard.governance.policy import TABLE_COLUMNS, operation_table

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    header = "| operation | " + " | ".join(TABLE_COLUMNS) + " |"
    assert header in readme
    cells = r"\| `([a-z.]+)` \|" + r" (✓|—) \|" * len(TABLE_COLUMNS)
    documented = [(row[0], tuple(mark == "✓" for mark in row[1:]))
                  for row in re.findall(f"^{cells}$", readme, flags=re.M)]
    assert documented == operation_table()
    assert dict(documented)["deploy.production"] == (False, False, True, True, True)


def test_refusal_names_the_reason_and_whom_to_ask_or_nothing_when_allowed():
    from shipyard.governance.identity import Identity
    from shipyard.governance.policy import refusal

    viewer = Identity(name="vera", kind="user", roles={"growth": "viewer"}, authenticated=True)
    assert refusal(viewer, "models.read", team="growth") is None
    assert refusal(viewer, "rollback", team="growth") == (
        "vera may not rollback for team growth: it is viewer in team growth, and rollback needs developer or above; "
        "ask an admin of team growth for the developer role")
