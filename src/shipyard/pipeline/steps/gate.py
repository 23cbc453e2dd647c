from __future__ import annotations

from typing import Any

from shipyard.pipeline.task import StepContext, StepResult


def run(context: StepContext, registration: dict[str, Any]) -> StepResult:
    from shipyard.registry.gating import gate_version
    from shipyard.registry.lifecycle import get_state
    from shipyard.tracking.outage import PENDING_SYNC, SYNC_COMMAND

    if registration.get("tracking") == PENDING_SYNC:  # no version yet: gated once `tracking sync` registers it
        model = registration["model_name"]
        report = {"model": model, "version": None, "passed": None, "outcome": PENDING_SYNC, "results": []}
        return StepResult(outputs={"report": report},
                          details={"outcome": f"{model}: gates wait for `{SYNC_COMMAND}`"})
    model, version = registration["model_name"], str(registration["model_version"])
    state = get_state(model, version, settings=context.settings)
    if state.state not in ("candidate", "staging"):
        report = {"model": model, "version": version, "passed": None, "outcome": state.state, "results": []}
        return StepResult(outputs={"report": report}, details={"outcome": f"already {state.state}"})
    report = gate_version(model, version, settings=context.settings, card_facts=registration.get("card_facts"))
    failed = [r.name for r in report.failures]
    note = f"{model} v{version} → {report.outcome}" + (f" ({', '.join(failed)[:120]})" if failed else "")
    details = {"outcome": note, "passed": report.passed}
    if report.passed and context.params.get("deployment"):
        details.update(_start_rollout(context, model, version))
    return StepResult(outputs={"report": report.to_dict()}, details=details)


def _start_rollout(context: StepContext, model: str, version: str) -> dict[str, str]:
    """The rollout's phase, and what it waits for when it waits for an approval."""
    from shipyard.governance.identity import current_actor
    from shipyard.serving.rollout import start_rollout
    from shipyard.spec.deployment import DeploymentSpec

    plan = DeploymentSpec.model_validate(context.params["deployment"])
    state = start_rollout(model, version, plan, actor=current_actor(), settings=context.settings)
    started = {"deployment": f"{state.rollout['phase']} (deployment revision {state.revision})"}
    if state.rollout.get("waiting_for"):
        started["waiting_for"] = state.rollout["waiting_for"]
    return started
