"""``/api/v1/deployments``: how each model's traffic is split, and changing it."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from shipyard.config import Settings
from shipyard.server.auth import Caller, caller
from shipyard.server.pagination import Page, Window, window
from shipyard.server.problems import problem_responses
from shipyard.server.schemas import (DeployIn, DeploymentOut, DeploymentRollbackIn, FleetOut, RolloutOut,
                                     TrafficIn)
from shipyard.server.settings import app_settings

router = APIRouter(prefix="/deployments", tags=["deployments"])
CHANGES = problem_responses(400, 401, 403, 404, 409, 422, 503)


def deployment_out(state, failures) -> dict:
    shares = state.shares()
    return {"model": state.model, "revision": state.revision, "routing_key": state.routing_key,
            "rollout": state.rollout, "updated_at": state.updated_at, "updated_by": state.updated_by,
            "arms": [{"role": a.role, "version": a.version, "weight": a.weight,
                      "share": None if a.role == "shadow" else shares.get(a.role, 0.0)} for a in state.arms],
            "load_failures": [f.to_dict() for f in failures if f.model == state.model]}


@router.get("", response_model=Page[DeploymentOut], summary="Every deployment, by model",
            responses=problem_responses(401, 403, 422, 503))
def list_deployments(page: Window = Depends(window), who: Caller = Depends(caller),
                     settings: Settings = Depends(app_settings)) -> dict:
    from shipyard.serving.deployments import list_deployments as deployments
    from shipyard.serving.load_failures import load_failures

    with who.acting():
        states, failures = deployments(settings=settings), load_failures(settings=settings)
    return page.slice([deployment_out(s, failures) for s in states])


@router.get("/{model}", response_model=DeploymentOut, summary="A model's arms, shares, rollout and load failures",
            responses=problem_responses(401, 403, 404, 503))
def show_deployment(model: str, who: Caller = Depends(caller), settings: Settings = Depends(app_settings)) -> dict:
    from shipyard.serving.deployments import get_deployment
    from shipyard.serving.load_failures import load_failures

    with who.acting():
        return deployment_out(get_deployment(model, settings=settings), load_failures(model, settings=settings))


@router.get("/{model}/rollout", response_model=RolloutOut, summary="Where the model's rollout stands",
            responses=problem_responses(401, 403, 404, 503))
def rollout_state(model: str, who: Caller = Depends(caller), settings: Settings = Depends(app_settings)) -> dict:
    from shipyard.serving.deployments import get_deployment

    with who.acting():
        state = get_deployment(model, settings=settings)
    return {"model": state.model, "active": state.rollout_active, "rollout": state.rollout}


@router.get("/{model}/fleet", response_model=FleetOut,
            summary="Live service levels: the fleet's requests, error rate and p99 per arm, over the gateways' "
                    "fresh windows", responses=problem_responses(401, 403, 404, 503))
def fleet(model: str, who: Caller = Depends(caller), settings: Settings = Depends(app_settings)) -> dict:
    from dataclasses import asdict

    from shipyard.serving.fleet_figures import fleet_figures, fresh_for

    with who.acting():
        figures = fleet_figures(model, settings=settings)
    return {"model": model, "fresh_s": fresh_for(settings), "arms": [asdict(f) for f in figures]}


@router.post("/{model}", response_model=DeploymentOut, summary="Put a version into the model's live traffic",
             responses=CHANGES)
def deploy(model: str, body: DeployIn, who: Caller = Depends(caller),
           settings: Settings = Depends(app_settings)) -> dict:
    from shipyard.serving.traffic import deploy as deploy_version

    weight = None if body.percent is None else body.percent / 100
    with who.acting():
        state = deploy_version(model, body.version, strategy=body.strategy, weight=weight,
                               routing_key=body.routing_key, plan=body.plan, actor=who.name, reason=body.reason,
                               settings=settings)
    return deployment_out(state, ())


@router.put("/{model}/traffic", response_model=DeploymentOut,
            summary="Change the split by hand (a rollout in flight is cancelled)", responses=CHANGES)
def set_traffic(model: str, body: TrafficIn, who: Caller = Depends(caller),
                settings: Settings = Depends(app_settings)) -> dict:
    from shipyard.serving.traffic import set_traffic as set_arms

    given = body.model_fields_set
    arms: dict[str, tuple[str, float | None] | None] = {}
    if "stable" in given and body.stable is not None:
        arms["stable"] = (body.stable, None)
    for role in ("canary", "ab", "shadow"):
        if role in given:
            arm = getattr(body, role)
            arms[role] = None if arm is None else (arm.version, None if arm.percent is None else arm.percent / 100)
    with who.acting():
        state = set_arms(model, arms, routing_key=body.routing_key, actor=who.name, reason=body.reason,
                         settings=settings)
    return deployment_out(state, ())


@router.post("/{model}/rollback", response_model=DeploymentOut,
             summary="Take the newest change out of traffic: the canary/A-B/rollout, or production's latest version",
             responses=CHANGES)
def rollback(model: str, body: DeploymentRollbackIn, who: Caller = Depends(caller),
             settings: Settings = Depends(app_settings)) -> dict:
    from shipyard.serving.traffic import rollback as rollback_traffic

    with who.acting():
        return deployment_out(rollback_traffic(model, actor=who.name, reason=body.reason, force=body.force,
                                               settings=settings), ())
