"""The version lifecycle: candidate → staging → production, and the ways out.

State lives in the metadata store and is mirrored to MLflow (a ``shipyard.state``
version tag; the ``champion`` alias for production, ``challenger`` for staging).
A transition is one database transaction that also appends its audit event; the
row is marked unsynced until MLflow mirrors it, and ``reconcile`` finishes any
mirror a crash interrupted, so the two never disagree for long.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select, update

from shipyard.config import Settings, load_settings
from shipyard.errors import BackendError, ForbiddenError, NotFoundError, RefusedError, UsageError
from shipyard.governance.audit import Event, append_event, read_events
from shipyard.governance.directory import model_team, record_owner, separation_of_duties
from shipyard.governance.identity import current_identity
from shipyard.governance.policy import authorize
from shipyard.registry.feature_spec import feature_availability, missing_text
from shipyard.store.db import session_scope
from shipyard.store.models import AuditEvent, ModelHead, ModelVersionState

STATES = ("candidate", "staging", "production", "rejected", "archived", "rolled_back")
ALLOWED = {
    "candidate": {"staging", "rejected", "archived"},
    "staging": {"production", "rejected", "archived", "rolled_back"},
    "production": {"archived", "rolled_back"},
    "rolled_back": {"production", "archived"},
    "rejected": {"archived"},
    "archived": set(),
}
CHAMPION, CHALLENGER = "champion", "challenger"
OPERATION_BY_STATE = {"staging": "lifecycle.promote", "production": "lifecycle.approve",
                      "rejected": "lifecycle.reject", "archived": "lifecycle.archive", "rolled_back": "rollback",
                      "candidate": "lifecycle.promote"}
"""The policy operation that moving a version to each state needs."""
GATE_VERDICTS = ("gate_passed", "gate_failed", "gate_overridden")


@dataclass(frozen=True, kw_only=True)
class VersionState:
    model: str
    version: str
    state: str
    approval: str
    approved_by: str | None
    was_production: bool
    synced: bool
    updated_at: datetime
    reason: str | None


def _record(row: ModelVersionState) -> VersionState:
    return VersionState(model=row.model, version=row.version, state=row.state, approval=row.approval,
                        approved_by=row.approved_by, was_production=row.was_production, synced=row.synced,
                        updated_at=row.updated_at, reason=row.reason)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def authorize_for_model(operation: str, model: str, *, session=None, settings: Settings | None = None) -> None:
    """Check the current identity may do ``operation`` on ``model``, as a member of the team owning it."""
    authorize(current_identity(), operation, team=model_team(model, session=session, settings=settings))


def register_candidate(model: str, version: str | int, *, actor: str, approval: str = "auto",
                       details: dict[str, Any] | None = None, team: str | None = None,
                       produced_by: str | None = None, settings: Settings | None = None) -> VersionState:
    """Record a freshly registered version as a candidate (idempotent for the same version).

    ``team`` becomes the model's owner; ``produced_by`` is who started the run that produced it.
    """
    version = str(version)
    with session_scope(settings) as session:
        row = session.get(ModelVersionState, (model, version))
        if row is not None:
            return _record(row)
        record_owner(model, team, session=session)
        if session.get(ModelHead, model) is None:
            session.add(ModelHead(model=model, production_version=None, row_version=0))
            session.flush()
        row = ModelVersionState(model=model, version=version, state="candidate", approval=approval,
                                was_production=False, synced=False, updated_at=_now(), produced_by=produced_by)
        session.add(row)
        append_event(actor=actor, action="registered", model=model, version=version, to_state="candidate",
                     details=details, session=session)
        record = _record(row)
    mirror_changes([record], settings)
    return get_state(model, version, settings=settings)


def get_state(model: str, version: str | int, *, settings: Settings | None = None) -> VersionState:
    with session_scope(settings) as session:
        row = session.get(ModelVersionState, (model, str(version)))
        if row is None:
            raise _missing(session, model, str(version))
        return _record(row)


def list_states(model: str | None = None, *, settings: Settings | None = None) -> list[VersionState]:
    with session_scope(settings) as session:
        query = select(ModelVersionState).order_by(ModelVersionState.model, ModelVersionState.version)
        if model:
            query = query.where(ModelVersionState.model == model)
        return sorted((_record(r) for r in session.scalars(query)), key=lambda s: (s.model, int(s.version)))


def reject(model: str, version: str | int, *, actor: str, reason: str | None,
           settings: Settings | None = None) -> VersionState:
    """Reject a candidate or staging version; the reason is mandatory, the same through the API and in-process."""
    if not reason or not reason.strip():
        raise RefusedError("a rejection must give a reason", hint="pass --reason TEXT")
    return transition(model, version, "rejected", actor=actor, reason=reason.strip(), settings=settings)


def production_version(model: str, *, settings: Settings | None = None) -> str | None:
    with session_scope(settings) as session:
        head = session.get(ModelHead, model)
        return head.production_version if head else None


def transition(model: str, version: str | int, to_state: str, *, actor: str, reason: str | None = None,
               action: str | None = None, details: dict[str, Any] | None = None, by_deployment: bool = False,
               gate_verdict: bool = False, settings: Settings | None = None) -> VersionState:
    """Move one version to ``to_state``; production changes are serialised per model.

    While a deployment serves the production version, only the deployment may replace it
    (``by_deployment``): production and the traffic it gets change together.
    """
    version = str(version)
    settings = settings or load_settings()
    if to_state not in STATES:
        raise UsageError(f"'{to_state}' is not a lifecycle state", hint=f"use one of {', '.join(STATES)}")
    if (action in GATE_VERDICTS) != gate_verdict:
        raise ValueError(f"action {action!r}: only the gates (gate_verdict=True) record a gate verdict")
    reconcile(settings=settings)
    with session_scope(settings) as session:
        touched = apply_transition(session, model, version, to_state, actor=actor, reason=reason, action=action,
                                   details=details, by_deployment=by_deployment)
    mirror_changes(touched, settings)
    return get_state(model, version, settings=settings)


def _missing(session, model: str, version: str) -> NotFoundError:
    known = session.scalars(select(ModelVersionState.version).where(ModelVersionState.model == model)).all()
    if known:
        return NotFoundError(f"model '{model}' has no version {version}",
                             hint=f"its versions are: {', '.join(sorted(known, key=int))}")
    return NotFoundError(f"there is no model '{model}' in the registry",
                         hint="`shipyard models list` shows the registered models")


def lock_head(session, model: str) -> ModelHead | None:
    """Lock the model's head row; every change to a model's versions takes it first, then the version rows,
    so that concurrent transitions and rollbacks queue on the head instead of deadlocking."""
    return session.get(ModelHead, model, with_for_update=True)


def apply_transition(session, model: str, version: str | int, to_state: str, *, actor: str,
                     reason: str | None = None, action: str | None = None, details: dict[str, Any] | None = None,
                     by_deployment: bool = False) -> list[VersionState]:
    """:func:`transition` inside the caller's transaction; returns the records to mirror once it commits."""
    version = str(version)
    touched: list[VersionState] = []
    head = lock_head(session, model)
    row = session.get(ModelVersionState, (model, version), with_for_update=True)
    if row is None or head is None:
        raise _missing(session, model, version)
    authorize_for_model(OPERATION_BY_STATE[to_state], model, session=session)
    if to_state not in ALLOWED[row.state]:
        allowed = ", ".join(sorted(ALLOWED[row.state])) or "nothing (final state)"
        hint = f"from {row.state} it may become: {allowed}"
        if row.state == "candidate" and to_state == "production":
            hint = f"a candidate reaches production through its gates: shipyard gate {model} {version}"
        raise RefusedError(f"{model} version {version} is {row.state} and cannot become {to_state}", hint=hint)
    if to_state == "production":
        _refuse_ungated(session, model, version)
    if to_state in ("archived", "rejected"):
        from shipyard.registry.references import holders

        held_by = holders(model, version, session=session)
        if held_by:
            raise RefusedError(f"{model} version {version} is in use by {', '.join(held_by)} and cannot become "
                               f"{to_state}", hint="move traffic off it (or remove the deployment) first")
    if to_state == "production" and row.approval == "manual" and not row.approved_by:
        raise RefusedError(f"{model} version {version} needs a manual approval before production",
                           hint=f"shipyard models approve {model} {version} --approver NAME")
    seen = head.row_version
    from_state = row.state
    if to_state == "production":
        if not by_deployment:
            _refuse_if_served(session, model, head.production_version, "replace it in production",
                              f"shipyard deploy {model} {version}")
        touched += _demote_current(session, head, model, version, actor, reason)
        head.production_version = version
        row.was_production = True
    elif from_state == "production":
        head.production_version = None
    claimed = session.execute(update(ModelHead).where(ModelHead.model == model, ModelHead.row_version == seen)
                              .values(row_version=seen + 1, production_version=head.production_version))
    if claimed.rowcount != 1:
        raise RefusedError(f"another change to model '{model}' happened at the same time; nothing was changed",
                           hint="look at `shipyard models show` and try again")
    row.state, row.reason, row.synced, row.updated_at = to_state, reason, False, _now()
    append_event(actor=actor, action=action or to_state, model=model, version=version, from_state=from_state,
                 to_state=to_state, reason=reason, details=details, session=session)
    touched.append(_record(row))
    return touched


def mirror_changes(records: list[VersionState], settings: Settings) -> None:
    """Mirror committed lifecycle changes to MLflow; a failure leaves them for :func:`reconcile`."""
    try:
        for record in records:
            try:
                _mirror(record, settings)
            except Exception:  # another process mirroring the same alias at once (reconcile): once more
                _mirror(record, settings)
    except Exception as exc:
        changed = ", ".join(f"version {r.version} → {r.state}" for r in records)
        raise BackendError(
            f"the change ({changed}) is recorded in the metadata store, but mirroring it to MLflow failed: {exc}",
            hint="it is finished automatically by the next lifecycle operation, or now by `shipyard models verify`",
        ) from exc


def _refuse_if_served(session, model: str, version: str | None, what: str, instead: str) -> None:
    from shipyard.registry.references import holders

    if version is not None and "deployment" in holders(model, version, session=session):
        raise RefusedError(f"{model} version {version} serves live traffic through a deployment; {what} there",
                           hint=f"use `{instead}`, which changes production and the traffic together")


def _demote_current(session, head, model, version, actor, reason) -> list[VersionState]:
    if not head.production_version or head.production_version == version:
        return []
    current = session.get(ModelVersionState, (model, head.production_version), with_for_update=True)
    current.state, current.synced, current.updated_at = "archived", False, _now()
    current.reason = f"replaced by version {version}"
    append_event(actor=actor, action="archived", model=model, version=current.version, from_state="production",
                 to_state="archived", reason=f"replaced by version {version}", session=session)
    return [_record(current)]


def require_gate_clearance(model: str, version: str | int, *, settings: Settings | None = None) -> None:
    """Refuse unless the version's latest gate verdict is a pass or an override."""
    with session_scope(settings) as session:
        _refuse_ungated(session, model, str(version))


def _refuse_ungated(session, model: str, version: str) -> None:
    """Production needs the version's latest gate verdict to be a pass or an override."""
    verdict = session.scalars(select(AuditEvent.action).where(
        AuditEvent.model == model, AuditEvent.version == version, AuditEvent.action.in_(GATE_VERDICTS))
        .order_by(AuditEvent.seq.desc()).limit(1)).first()
    if verdict in ("gate_passed", "gate_overridden"):
        return
    problem = "failed its gates" if verdict == "gate_failed" else "has no passing gate report"
    raise RefusedError(f"{model} version {version} {problem} and cannot reach production",
                       hint=f"run its gates: shipyard gate {model} {version}; a team admin may override them "
                            f"with a reason: shipyard models override {model} {version} --reason TEXT")


def override_gates(model: str, version: str | int, *, reason: str, settings: Settings | None = None) -> VersionState:
    """Let a version reach production without a passing gate report; its own audit event, shown on its card.

    A candidate moves to staging; a staging version stays there, now cleared for production.
    """
    version = str(version)
    if not reason or not reason.strip():
        raise RefusedError("a gate override must give a reason", hint="pass --reason TEXT")
    state = get_state(model, version, settings=settings)
    authorize_for_model("lifecycle.override", model, settings=settings)
    if state.state not in ("candidate", "staging"):
        raise RefusedError(f"{model} version {version} is {state.state}; only candidate or staging versions can "
                           "have their gates overridden")
    actor = current_identity().name
    details = {"override": True, "previous_state": state.state}
    if state.state == "candidate":
        return transition(model, version, "staging", actor=actor, reason=reason.strip(), action="gate_overridden",
                          details=details, gate_verdict=True, settings=settings)
    append_event(actor=actor, action="gate_overridden", model=model, version=version, from_state="staging",
                 to_state="staging", reason=reason.strip(), details=details, settings=settings)
    return get_state(model, version, settings=settings)


def gate_overrides(model: str, version: str | int, *, settings: Settings | None = None) -> list[Event]:
    """The audit events that cleared this version for production without a passing gate report."""
    return [e for e in read_events(model=model, settings=settings)
            if e.version == str(version) and e.action == "gate_overridden"]


def approve(model: str, version: str | int, *, approver: str | None = None, reason: str | None = None,
            settings: Settings | None = None) -> VersionState:
    """Record who approved a version for production.

    The approver is the authenticated identity; ``approver`` names it only in-process without a server.
    With separation of duties (each team's setting, on by default) nobody approves a version
    produced by a run they started.
    """
    identity = current_identity()
    if identity.authenticated:
        approver = identity.name
    if not approver or not approver.strip():
        raise RefusedError("an approval must name the approver", hint="pass --approver NAME")
    approver = approver.strip()
    get_state(model, version, settings=settings)
    with session_scope(settings) as session:
        row = session.get(ModelVersionState, (model, str(version)), with_for_update=True)
        team = model_team(model, session=session)
        authorize(identity, "lifecycle.approve", team=team)
        if row.state not in ("candidate", "staging"):
            raise RefusedError(f"{model} version {version} is {row.state}; only candidate or staging versions "
                               "can be approved")
        if identity.authenticated and row.produced_by == approver and separation_of_duties(team, session=session):
            raise ForbiddenError(f"{approver} started the run that produced {model} version {version} and so may "
                                 f"not approve it (separation of duties in team {team or '(none)'})",
                                 hint="ask another approver of the team")
        row.approved_by = approver
        append_event(actor=approver, action="approved", model=model, version=str(version),
                     from_state=row.state, to_state=row.state, reason=reason, session=session)
    return get_state(model, version, settings=settings)


def rollback(model: str, *, actor: str, reason: str, to_version: str | int | None = None, force: bool = False,
             by_deployment: bool = False, settings: Settings | None = None) -> VersionState:
    """Put a version that was in production before back in production; the current one is rolled back.

    The target's inputs are checked against today's serving contract (the current production
    signature): a target needing columns callers no longer send, or one whose inputs cannot be
    compared, is refused unless ``force``.
    """
    settings = settings or load_settings()
    if not reason or not reason.strip():
        raise RefusedError("a rollback must give a reason", hint="pass --reason TEXT")
    reconcile(settings=settings)
    with session_scope(settings) as session:
        touched = apply_rollback(session, model, actor=actor, reason=reason, to_version=to_version, force=force,
                                 by_deployment=by_deployment, settings=settings)
    mirror_changes(touched, settings)
    return get_state(model, touched[-1].version, settings=settings)


def apply_rollback(session, model: str, *, actor: str, reason: str, to_version: str | int | None = None,
                   force: bool = False, by_deployment: bool = False,
                   settings: Settings | None = None) -> list[VersionState]:
    """:func:`rollback` inside the caller's transaction; the last record returned is the restored version."""
    if not reason or not reason.strip():
        raise RefusedError("a rollback must give a reason", hint="pass --reason TEXT")
    touched: list[VersionState] = []
    head = lock_head(session, model)
    if head is None:
        raise _missing(session, model, "0")
    authorize_for_model("rollback", model, session=session)
    current = head.production_version
    if current is None:
        raise RefusedError(f"model '{model}' has no version in production to roll back from")
    if to_version is None:
        previous = [r for r in session.scalars(select(ModelVersionState).where(
            ModelVersionState.model == model, ModelVersionState.was_production.is_(True),
            ModelVersionState.version != current)) if r.state in ("archived", "rolled_back")]
        if not previous:
            raise RefusedError(f"model '{model}' has no earlier production version to roll back to")
        target = max(previous, key=lambda r: r.updated_at)
    else:
        target = session.get(ModelVersionState, (model, str(to_version)), with_for_update=True)
        if target is None:
            raise _missing(session, model, str(to_version))
        if not target.was_production:
            raise RefusedError(f"{model} version {to_version} never reached production, so production cannot "
                               "roll back to it", hint="promote it through staging instead")
        if target.version == current:
            raise RefusedError(f"{model} version {to_version} is already in production")
    compatibility = _rollback_compatibility(model, target.version, current, settings or load_settings())
    compatibility["features"] = feature_availability(model, target.version, session=session)
    _refuse_incompatible(model, target.version, current, compatibility, force)
    if not by_deployment:
        _refuse_if_served(session, model, current, "roll it back there", f"shipyard rollback {model}")
    outgoing = session.get(ModelVersionState, (model, current), with_for_update=True)
    claimed = session.execute(update(ModelHead).where(ModelHead.model == model,
                                                      ModelHead.row_version == head.row_version)
                              .values(row_version=head.row_version + 1, production_version=target.version))
    if claimed.rowcount != 1:
        raise RefusedError(f"another change to model '{model}' happened at the same time; nothing was changed")
    for row, state in ((outgoing, "rolled_back"), (target, "production")):
        from_state = row.state
        row.state, row.reason, row.synced, row.updated_at = state, reason, False, _now()
        append_event(actor=actor, action="rolled_back" if state == "rolled_back" else "rollback_promoted",
                     model=model, version=row.version, from_state=from_state, to_state=state, reason=reason,
                     details={"forced": force, "compatibility": compatibility}, session=session)
        touched.append(_record(row))
    return touched


def _rollback_compatibility(model: str, target: str, current: str, settings: Settings) -> dict[str, Any]:
    from shipyard.registry.gating import version_signature

    needed, provided = version_signature(model, target, settings=settings), \
        version_signature(model, current, settings=settings)
    unknown = [v for v, signature in ((target, needed), (current, provided)) if signature is None]
    if unknown:
        return {"checked": False, "missing": [], "retyped": [], "without_signature": unknown}
    return {"checked": True, "missing": sorted(set(needed) - set(provided)),
            "retyped": sorted((c, needed[c]) for c in set(needed) & set(provided) if needed[c] != provided[c])}


def _refuse_incompatible(model: str, target: str, current: str, compatibility: dict[str, Any], force: bool) -> None:
    if force:
        return
    if not compatibility["checked"]:
        unknown = compatibility["without_signature"]
        versions = " and ".join(f"version {v}" for v in unknown) + (" have" if len(unknown) > 1 else " has")
        raise RefusedError(f"cannot check that rolling {model} back to version {target} keeps serving working: "
                           f"{versions} no readable input signature; nothing was changed",
                           headline="compatibility not checked",
                           hint="check the versions with `shipyard models verify`, or force the rollback with "
                                "--force and a reason")
    features = compatibility.get("features") or {}
    if features.get("missing"):
        raise RefusedError(f"rolling {model} back to version {target} would break it: {missing_text(features)}, "
                           "which it needs; nothing was changed", headline="features not available",
                           hint="restore the columns in the data source or contract, or force it with --force and "
                                "a reason")
    if features.get("unreadable"):
        raise RefusedError(f"cannot check that rolling {model} back to version {target} gets every feature it "
                           f"needs: {features['why']}; nothing was changed", headline="features not checked",
                           hint="fix the data source, or force the rollback with --force and a reason")
    if compatibility["missing"] or compatibility["retyped"]:
        problem = (f"rolling {model} back to version {target} would break serving: it needs "
                   + ", ".join([f"missing column {c}" for c in compatibility["missing"]]
                               + [f"{c} as {t}" for c, t in compatibility["retyped"]])
                   + f" that production version {current}'s inputs no longer provide")
        raise RefusedError(problem, hint="fix the data or features, or force it with --force and a reason")


def _mirror(record: VersionState, settings: Settings | None) -> None:
    """Make MLflow show the store's state: version tag and aliases. Idempotent."""
    from mlflow.tracking import MlflowClient

    from shipyard.tracking.setup import configure_mlflow

    settings = settings or load_settings()
    configure_mlflow(settings)
    client = MlflowClient()
    client.set_model_version_tag(record.model, record.version, "shipyard.state", record.state)
    aliases = client.get_registered_model(record.model).aliases
    for alias, wanted in ((CHAMPION, record.state == "production"), (CHALLENGER, record.state == "staging")):
        holds = str(aliases.get(alias)) == record.version
        if wanted and not holds:
            client.set_registered_model_alias(record.model, alias, record.version)
        elif holds and not wanted:
            client.delete_registered_model_alias(record.model, alias)
    with session_scope(settings) as session:
        row = session.get(ModelVersionState, (record.model, record.version))
        if row.state == record.state:
            row.synced = True


def reconcile(*, settings: Settings | None = None) -> list[VersionState]:
    """Finish every MLflow mirror that a failure left undone; returns what was repaired."""
    with session_scope(settings) as session:
        pending = [_record(r) for r in session.scalars(select(ModelVersionState).where(
            ModelVersionState.synced.is_(False)))]
    for record in pending:
        _mirror(record, settings)
    return pending


def reconcile_model(model: str, *, settings: Settings | None = None) -> list[VersionState]:
    """Make MLflow show the store's state for every version of ``model``, whatever changed MLflow: unfinished
    mirrors and version tags or aliases moved by hand alike. Returns what was repaired."""
    from mlflow.tracking import MlflowClient

    from shipyard.tracking.backend import mlflow_errors
    from shipyard.tracking.setup import configure_mlflow

    settings = settings or load_settings()
    repaired = reconcile(settings=settings)
    states = list_states(model, settings=settings)
    if not states:
        return repaired
    configure_mlflow(settings)
    client = MlflowClient()
    with mlflow_errors(settings, f"comparing MLflow's aliases and tags of '{model}' with the metadata store"):
        aliases = {alias: str(version) for alias, version in client.get_registered_model(model).aliases.items()}
        for record in states:
            tag = client.get_model_version(model, record.version).tags.get("shipyard.state")
            wanted = {CHAMPION: record.state == "production", CHALLENGER: record.state == "staging"}
            if tag != record.state or any((aliases.get(alias) == record.version) != holds
                                          for alias, holds in wanted.items()):
                _mirror(record, settings)
                if all((r.version, r.state) != (record.version, record.state) for r in repaired):
                    repaired.append(record)
    return repaired
