"""Evaluating a version's gates and moving it to staging or rejected.

Everything is re-derived from what was recorded: the version's pipeline run gives
the spec and the holdout frame (by digest), the registry gives both models, and
candidate and champion are scored on the very same holdout rows.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard.config import Settings, load_settings
from shipyard.errors import RefusedError
from shipyard.registry import gates as g
from shipyard.spec.promotion import parse_rule

GATE_ACTOR = "shipyard-gates"


@dataclass(frozen=True, kw_only=True)
class GateReport:
    model: str
    version: str
    passed: bool
    results: tuple[g.GateResult, ...]
    outcome: str

    @property
    def failures(self) -> list[g.GateResult]:
        return [r for r in self.results if not r.passed]

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "version": self.version, "passed": self.passed, "outcome": self.outcome,
                "results": [r.to_dict() for r in self.results]}


def _context(model: str, version: str, settings: Settings):
    from shipyard.pipeline.artifacts import open_artifact_store
    from shipyard.pipeline.serialization import load_value
    from shipyard.registry.versions import get_version_tags
    from shipyard.spec.loader import parse_spec
    from shipyard.store import runs as store

    tags = get_version_tags(model, version, settings=settings)
    run_id = tags.get("shipyard.pipeline_run_id")
    if not run_id:
        raise RefusedError(f"{model} version {version} was not registered by a shipyard pipeline run, so its "
                           "holdout data is unknown", hint="register versions with `shipyard run`")
    run = store.get_run(run_id, settings=settings)
    base_dir = Path(run.spec_path).parent if run.spec_path else Path.cwd()
    spec = parse_spec(run.spec_text, source=run.spec_path or "<stored spec>", base_dir=base_dir).spec
    split = next((s for s in run.steps if s.name == "split"), None)
    ref = (split.outputs or {}).get("holdout") if split else None
    artifacts = open_artifact_store(settings)
    if ref is None or not artifacts.exists(ref["digest"]):
        raise RefusedError(f"the holdout data of {model} version {version} is missing (pipeline run {run_id})",
                           hint="gates need the exact holdout rows; re-run the pipeline to register a new version")
    return spec, load_value(artifacts, ref), base_dir


def version_signature(model: str, version: str, *, settings: Settings | None = None) -> dict[str, str] | None:
    """``{column: type}`` of a registered version's input signature; None when it has none."""
    from mlflow.exceptions import MlflowException
    from mlflow.models import get_model_info

    from shipyard.tracking.setup import configure_mlflow

    configure_mlflow(settings or load_settings())
    try:
        info = get_model_info(f"models:/{model}/{version}")
    except (MlflowException, OSError):
        return None
    return None if info.signature is None else g.signature_columns(info.signature.inputs.to_json())


def _contract(spec, model: str, base_dir: Path, champion: str | None,
              settings: Settings) -> tuple[dict[str, str] | None, str]:
    gate = spec.promotion.gates.schema_contract
    if gate is not None and gate.contract:
        path = (base_dir / gate.contract).resolve()
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise RefusedError(f"the schema contract {path} cannot be read: {exc}",
                               hint='write {"column": "type", …} or an MLflow signature inputs list') from None
        columns = data if isinstance(data, dict) else g.signature_columns(data)
        return columns, f"contract {gate.contract}"
    if champion is None:
        return None, "no contract"
    return version_signature(model, champion, settings=settings), f"production v{champion} signature"


def evaluate_gates(model: str, version: str | int, *, settings: Settings | None = None,
                   card_facts: dict[str, Any] | None = None) -> GateReport:
    """Measure every gate the version's spec declares.

    With ``card_facts`` and no card yet, the card is written here, with the other gates'
    results in it, before the card gate verifies it.
    """
    from shipyard.pipeline.metrics import evaluate_model, metrics_for
    from shipyard.registry.lifecycle import production_version
    from shipyard.registry.loading import load_model_version, verified_model_bytes

    settings = settings or load_settings()
    version = str(version)
    spec, holdout, base_dir = _context(model, version, settings)
    if spec.promotion is None:
        raise RefusedError(f"the spec of {model} version {version} declares no promotion gates",
                           hint="add a 'promotion:' section with gates to the pipeline YAML")
    tampered = _tampered_card(model, version, settings)
    if tampered is not None:
        return GateReport(model=model, version=version, passed=False, results=(tampered,), outcome="rejected")
    gates, task = spec.promotion.gates, spec.task()
    extra = tuple(sorted({ref.partition(":")[0] for ref in [f.function for f in spec.features if f.function]}))
    candidate = load_model_version(model, version, settings=settings, extra_modules=extra)
    evaluation = spec.evaluation
    slices = list(evaluation.slices)
    names = tuple(sorted(set(metrics_for(task, evaluation.metrics))
                         | {parse_rule(r)[0] for r in gates.thresholds}
                         | ({gates.champion.metric} if gates.champion else set())
                         | ({gates.slices.metric} if gates.slices else set())))

    def score(m):
        return evaluate_model(m, holdout, target=spec.data.target, task=task, names=names, slices=slices,
                              threshold=evaluation.threshold)

    ours = score(candidate)
    champion_version = production_version(model, settings=settings)
    if champion_version == version:
        champion_version = None
    timed_against_champion = gates.performance is not None and gates.performance.max_ratio_to_champion is not None
    champion = load_model_version(model, champion_version, settings=settings, extra_modules=extra) \
        if champion_version and (gates.champion or gates.slices or timed_against_champion) else None
    theirs = score(champion) if champion is not None and (gates.champion or gates.slices) else None
    results: list[g.GateResult] = g.threshold_gates(gates.thresholds, ours["overall"])
    if gates.champion:
        results.append(g.champion_gate(gates.champion, ours, theirs, champion_version))
    if gates.slices:
        results += g.slice_gates(gates.slices, ours, theirs)
    if gates.schema_contract is not None:
        contract, source = _contract(spec, model, base_dir, champion_version, settings)
        results.append(g.schema_gate(version_signature(model, version, settings=settings) or {}, contract, source))
    if gates.performance:
        data = verified_model_bytes(model, version, settings=settings)
        with tempfile.NamedTemporaryFile(suffix=".skops") as handle:
            handle.write(data)
            handle.flush()
            memory = g.load_memory_mb(handle.name, extra) if gates.performance.max_load_memory_mb else None
        results += g.performance_gates(gates.performance, candidate, holdout[list(candidate.feature_names_in_)],
                                       size_bytes=len(data), load_memory=memory, champion=champion,
                                       champion_version=champion_version)
    if spec.promotion.drift is not None:
        from shipyard.registry.gates_drift import drift_gate

        results.append(drift_gate(spec.promotion.drift, model, version, settings=settings))
    from shipyard.registry.cards import CardFacts, card_record, verify_card, write_card

    if card_facts is not None and card_record(model, version, settings=settings) is None:
        facts = {**card_facts, "gate_results": [r.to_dict() for r in results]}
        write_card(CardFacts(**facts), settings=settings)
    if gates.card:
        problems = verify_card(model, version, settings=settings)
        results.append(g.GateResult(gate="card", name="model card", passed=not problems,
                                    reason="; ".join(problems) or "the card exists and matches its digests"))
    passed = all(r.passed for r in results)
    return GateReport(model=model, version=version, passed=passed, results=tuple(results),
                      outcome="staging" if passed else "rejected")


def _tampered_card(model: str, version: str, settings: Settings) -> g.GateResult | None:
    """A failed card gate when the version's card was changed after it was written; nothing else is measured,
    since loading the version refuses a changed card."""
    from shipyard.registry.cards import card_record, verify_card

    if card_record(model, version, settings=settings) is None:
        return None
    problems = verify_card(model, version, settings=settings)
    if not problems:
        return None
    return g.GateResult(gate="card", name="model card", passed=False,
                        reason="card tampered: " + "; ".join(problems),
                        details={"tampered": True, "problems": problems})


def gate_version(model: str, version: str | int, *, settings: Settings | None = None,
                 actor: str = GATE_ACTOR, card_facts: dict[str, Any] | None = None) -> GateReport:
    """Evaluate the gates and record the outcome: staging, or rejected with every failure's reason."""
    from shipyard.governance.audit import append_event
    from shipyard.registry.lifecycle import authorize_for_model, get_state, transition

    settings = settings or load_settings()
    version = str(version)
    authorize_for_model("gates.evaluate", model, settings=settings)
    state = get_state(model, version, settings=settings)
    if state.state == "rejected":
        recorded = recorded_report(model, version, settings=settings)
        if recorded is not None:
            return recorded
    if state.state not in ("candidate", "staging"):
        raise RefusedError(f"{model} version {version} is {state.state}; only candidate or staging versions are gated")
    report = evaluate_gates(model, version, settings=settings, card_facts=card_facts)
    details = report.to_dict()
    if report.passed:
        if state.state == "candidate":
            transition(model, version, "staging", actor=actor, reason="all gates passed", action="gate_passed",
                       details=details, gate_verdict=True, settings=settings)
        else:
            append_event(actor=actor, action="gate_passed", model=model, version=version, from_state="staging",
                         to_state="staging", reason="all gates passed", details=details, settings=settings)
    else:
        reasons = "; ".join(f"{r.name}: {r.reason}" for r in report.failures)
        transition(model, version, "rejected", actor=actor, reason=reasons[:2000], action="gate_failed",
                   details=details, gate_verdict=True, settings=settings)
    return report


def is_gate_record(event) -> bool:
    """Whether the audit event records a gate evaluation's outcome (what :func:`recorded_report` reads)."""
    return event.action in ("gate_passed", "gate_failed") and bool(event.details)


def recorded_report(model: str, version: str | int, *, settings: Settings | None = None) -> GateReport | None:
    """The outcome of the version's last gate evaluation, as the audit log recorded it."""
    from shipyard.governance.audit import read_events

    events = [e for e in read_events(model=model, settings=settings)
              if e.version == str(version) and is_gate_record(e)]
    if not events:
        return None
    details = events[-1].details
    results = tuple(g.GateResult(**r) for r in details["results"])
    return GateReport(model=model, version=str(version), passed=details["passed"], results=results,
                      outcome=details["outcome"])
