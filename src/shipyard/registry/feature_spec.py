"""What a version needs to be fed: its input columns and types, where they come from, the transforms on them.

The feature spec is recorded with the version's ``registered`` audit event, so it is as
tamper-evident as the rest of the log. Before a version goes back into traffic (a deploy, a
rollback) :func:`feature_availability` checks that today's data source (the one the model's
newest registered version reads) and the serving contract still provide every column it needs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from shipyard.config import Settings
from shipyard.errors import ShipyardError
from shipyard.store.db import session_scope
from shipyard.store.models import AuditEvent


def build_feature_spec(spec, inputs, base_dir: Path) -> dict[str, Any]:
    """The feature spec of a version trained by ``spec`` on the frame ``inputs`` (its input columns only)."""
    gates = spec.promotion.gates if spec.promotion else None
    contract = gates.schema_contract.contract if gates and gates.schema_contract else None
    return {
        "data": spec.data.model_dump(mode="json", by_alias=True, exclude_none=True),
        "base_dir": str(Path(base_dir).resolve()),
        "columns": {str(name): str(dtype) for name, dtype in inputs.dtypes.items()},
        "transforms": [{"columns": list(group.columns), "transforms": [t.kind for t in group.transforms],
                        "function": group.function} for group in spec.features],
        "contract": str((Path(base_dir) / contract).resolve()) if contract else None,
    }


def _registered_specs(session, model: str) -> list[tuple[str, dict[str, Any]]]:
    rows = session.scalars(select(AuditEvent).where(AuditEvent.model == model, AuditEvent.action == "registered")
                           .order_by(AuditEvent.seq))
    return [(row.version, row.details["feature_spec"]) for row in rows
            if isinstance(row.details, dict) and row.details.get("feature_spec")]


def feature_spec(model: str, version: str | int, *, session=None,
                 settings: Settings | None = None) -> dict[str, Any] | None:
    """The version's recorded feature spec; None for a version registered without one."""
    if session is None:
        with session_scope(settings) as own:
            return feature_spec(model, version, session=own)
    return next((fs for v, fs in _registered_specs(session, model) if v == str(version)), None)


def current_source(model: str, *, session=None, settings: Settings | None = None) -> tuple[str, dict] | None:
    """The newest registered version with a feature spec, and that spec: whose data source is today's."""
    if session is None:
        with session_scope(settings) as own:
            return current_source(model, session=own)
    specs = _registered_specs(session, model)
    return max(specs, key=lambda item: int(item[0])) if specs else None


def source_columns_of(feature: dict[str, Any]) -> list[str]:
    """The columns the feature spec's data source has now, read without its rows."""
    from shipyard.data.sources import source_columns
    from shipyard.spec.models import DataSpec

    return source_columns(DataSpec.model_validate(feature["data"]), Path(feature["base_dir"]))


def _contract_columns(path: str) -> dict[str, str]:
    import json

    from shipyard.registry.gates import signature_columns

    data = json.loads(Path(path).read_text())
    return data if isinstance(data, dict) else signature_columns(data) or {}


def feature_availability(model: str, version: str | int, *, session=None,
                         settings: Settings | None = None) -> dict[str, Any]:
    """Whether today's data source and the declared serving contract provide every input ``version`` needs.

    ``checked`` is False, with ``why``, when the version has no feature spec, or (``unreadable``) when the
    source or contract cannot be read; ``missing`` maps each place to the columns it lacks.
    """
    if session is None:
        with session_scope(settings) as own:
            return feature_availability(model, version, session=own)
    needed = feature_spec(model, version, session=session)
    if needed is None:
        return {"checked": False, "why": f"{model} version {version} was registered without a feature spec",
                "missing": {}}
    columns = list(needed["columns"])
    newest, today = current_source(model, session=session)
    described = f"the data source of version {newest} ({_describe(today['data'])})"
    report: dict[str, Any] = {"checked": True, "needs": needed["columns"], "source": described, "missing": {}}
    try:
        provided = set(source_columns_of(today))
    except ShipyardError as exc:
        return {**report, "checked": False, "unreadable": True, "why": f"{described} cannot be read: {exc.message}"}
    lacking = [c for c in columns if c not in provided]
    if lacking:
        report["missing"][described] = lacking
    if needed.get("contract"):
        try:
            contract = _contract_columns(needed["contract"])
        except (OSError, ValueError) as exc:
            return {**report, "checked": False, "unreadable": True,
                    "why": f"the serving contract {needed['contract']} cannot be read: {exc}"}
        lacking = [c for c in columns if c not in contract]
        if lacking:
            report["missing"][f"the serving contract {needed['contract']}"] = lacking
    return report


def missing_text(report: dict[str, Any]) -> str:
    return "; ".join(f"{where} lacks {', '.join(columns)}" for where, columns in report["missing"].items())


def _describe(data: dict[str, Any]) -> str:
    source = data.get("source", {})
    return f"{source.get('type')}: {source.get('path') or source.get('query') or ''}".rstrip(": ")


def require_features_available(model: str, version: str | int, *, what: str,
                               settings: Settings | None = None) -> dict[str, Any]:
    """Refuse to let ``version`` ``what`` unless today's source and contract provide all it needs."""
    from shipyard.errors import RefusedError

    report = feature_availability(model, version, settings=settings)
    if report["missing"]:
        raise RefusedError(f"{model} version {version} cannot {what}: {missing_text(report)}, which it needs; "
                           "nothing was changed", headline="features not available",
                           hint="restore the columns in the data source or contract, or deploy a version trained "
                                "without them")
    if report.get("unreadable"):
        raise RefusedError(f"cannot check that {model} version {version} gets every feature it needs: "
                           f"{report['why']}; nothing was changed", headline="features not checked",
                           hint="fix the data source or contract file so that its columns can be read")
    return report
