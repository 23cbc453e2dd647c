"""``/api/v1/models/{model}/...``: promote, approve, override gates or the shadow stage, reject, archive and roll back
versions."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Depends

from shipyard.config import Settings
from shipyard.server.auth import Caller, caller
from shipyard.server.problems import problem_responses
from shipyard.server.schemas import (AuditEventOut, ModelRollbackIn, OverrideIn, PromoteIn, ReasonIn, RequiredReasonIn,
                                     ShadowOverrideIn, VersionOut)
from shipyard.server.settings import app_settings

router = APIRouter(prefix="/models/{model}", tags=["lifecycle"])
ANSWERS = problem_responses(400, 401, 403, 404, 409, 422, 503)


@router.post("/versions/{version}/promote", response_model=VersionOut, summary="Move a version to staging or "
             "production", responses=ANSWERS)
def promote(model: str, version: str, body: PromoteIn, who: Caller = Depends(caller),
            settings: Settings = Depends(app_settings)) -> dict:
    from shipyard.registry.lifecycle import transition

    with who.acting():
        return asdict(transition(model, version, body.to, actor=who.name, reason=body.reason, action="promoted",
                                 settings=settings))


@router.post("/versions/{version}/approve", response_model=VersionOut,
             summary="Approve a version for production (approval: manual)", responses=ANSWERS)
def approve(model: str, version: str, body: ReasonIn, who: Caller = Depends(caller),
            settings: Settings = Depends(app_settings)) -> dict:
    from shipyard.registry.lifecycle import approve as approve_version

    with who.acting():
        return asdict(approve_version(model, version, approver=who.name, reason=body.reason, settings=settings))


@router.post("/versions/{version}/override", response_model=VersionOut,
             summary="Clear a version for production without a passing gate report (team admins)",
             responses=ANSWERS)
def override(model: str, version: str, body: OverrideIn, who: Caller = Depends(caller),
             settings: Settings = Depends(app_settings)) -> dict:
    from shipyard.registry.lifecycle import override_gates

    with who.acting():
        return asdict(override_gates(model, version, reason=body.reason, settings=settings))


@router.post("/versions/{version}/shadow-override", response_model=AuditEventOut, status_code=201,
             summary="Let a version skip or shorten the mandatory shadow stage (team admins); the audit event "
                     "recording it", responses=ANSWERS)
def override_shadow(model: str, version: str, body: ShadowOverrideIn, who: Caller = Depends(caller),
                    settings: Settings = Depends(app_settings)) -> dict:
    from shipyard.serving.shadow_stage import override_shadow as override_stage

    with who.acting():
        return asdict(override_stage(model, version, reason=body.reason, allowed_s=body.allowed_s,
                                     settings=settings))


@router.post("/versions/{version}/reject", response_model=VersionOut, summary="Reject a candidate or staging version",
             responses=ANSWERS)
def reject(model: str, version: str, body: RequiredReasonIn, who: Caller = Depends(caller),
           settings: Settings = Depends(app_settings)) -> dict:
    from shipyard.registry.lifecycle import reject as reject_version

    with who.acting():
        return asdict(reject_version(model, version, actor=who.name, reason=body.reason, settings=settings))


@router.post("/versions/{version}/archive", response_model=VersionOut, summary="Archive a version",
             responses=ANSWERS)
def archive(model: str, version: str, body: ReasonIn, who: Caller = Depends(caller),
            settings: Settings = Depends(app_settings)) -> dict:
    from shipyard.registry.lifecycle import transition

    with who.acting():
        return asdict(transition(model, version, "archived", actor=who.name, reason=body.reason, settings=settings))


@router.post("/rollback", response_model=VersionOut,
             summary="Put the previous (or a given) production version back in production", responses=ANSWERS)
def rollback(model: str, body: ModelRollbackIn, who: Caller = Depends(caller),
             settings: Settings = Depends(app_settings)) -> dict:
    from shipyard.registry.lifecycle import rollback as rollback_version

    with who.acting():
        return asdict(rollback_version(model, actor=who.name, reason=body.reason, to_version=body.to_version,
                                       force=body.force, settings=settings))
