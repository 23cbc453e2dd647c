"""``/api/v1/models/{model}/permissions``: what the caller may do to a model, and why not where it may not."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from shipyard.config import Settings
from shipyard.server.auth import Caller, caller
from shipyard.server.problems import problem_responses
from shipyard.server.schemas import PermissionsOut
from shipyard.server.settings import app_settings

router = APIRouter(tags=["identity"])

# The operations a model's pages offer as buttons.
MODEL_OPERATIONS = ("lifecycle.promote", "lifecycle.reject", "lifecycle.archive", "lifecycle.approve",
                    "lifecycle.override", "gates.evaluate", "drift.compute", "deploy.canary", "deploy.production",
                    "traffic.set", "rollback")


@router.get("/models/{model}/permissions", response_model=PermissionsOut,
            summary="Which of the model's operations the caller may do, with the reason for each it may not",
            responses=problem_responses(401, 403, 404, 503))
def permissions(model: str, who: Caller = Depends(caller), settings: Settings = Depends(app_settings)) -> dict:
    from shipyard.governance.directory import model_team
    from shipyard.governance.policy import refusal
    from shipyard.registry.catalog import catalog_entry

    with who.acting():
        catalog_entry(model, settings=settings)  # an unknown model is a 404
        team = model_team(model, settings=settings)
    operations = {}
    for operation in MODEL_OPERATIONS:
        reason = refusal(who.identity, operation, team=team)
        operations[operation] = {"allowed": reason is None, "reason": reason}
    return {"model": model, "team": team, "identity": who.name, "operations": operations}

