"""What ``shipyard run`` says after a run: whether the new version was rejected, and whether it takes traffic."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shipyard.errors import GateFailedError

if TYPE_CHECKING:
    from shipyard.pipeline.state import PipelineRun, StepReport


def _gate_step(result: PipelineRun) -> StepReport | None:
    return next((s for s in result.steps if s.kind == "gate" and s.state in ("succeeded", "cached")), None)


def refuse_rejected(result: PipelineRun) -> None:
    """A run whose new version failed its gates succeeded as a run, but must not exit like a success."""
    step = _gate_step(result)
    if step is None or step.details.get("passed") is not False or not result.registration:
        return
    model, version = result.registration["model_name"], result.registration["model_version"]
    raise GateFailedError(f"{step.details['outcome']}: version {version} is registered but rejected, and nothing "
                          "was deployed", hint=f"see why: shipyard models show {model} {version}")


def print_pending_sync(registration: dict) -> None:
    """Say that the run was logged locally because MLflow was out, and what registers its version."""
    print(f"tracking: pending-sync: the MLflow server was out ({registration.get('tracking_reason')}), so the run "
          f"was logged to the local fallback store (MLflow run {registration['mlflow_run_id']}); "
          f"{registration['model_name']} gets its version, as a candidate, when you run: shipyard tracking sync "
          "(every later `shipyard run` also syncs while the server answers)")


def print_deployment(result: PipelineRun, *, no_deploy: bool) -> None:
    """Say whether the new version takes traffic now, and how to make it when it does not."""
    if not result.registration or result.status != "succeeded":
        return
    if result.registration.get("tracking") == "pending-sync":
        print("not gated or deployed: the version does not exist until `shipyard tracking sync` registers it; "
              "then gate it (shipyard gate MODEL VERSION) and deploy it (shipyard deploy MODEL VERSION)")
        return
    model, version = result.registration["model_name"], result.registration["model_version"]
    step = _gate_step(result)
    if step is None:
        print(f"not deployed: the spec has no promotion: gates, so version {version} stays a candidate and "
              f"cannot reach production; add gates to the spec, or have a team admin clear it "
              f"(shipyard models override {model} {version} --reason TEXT), then: shipyard deploy {model} {version}")
        return
    if step.cache_hit or step.details.get("passed") is not True:  # unchanged re-run, rejected, or gated before
        return
    deployment = step.details.get("deployment")
    if deployment is None:
        why = "--no-deploy" if no_deploy else "the spec has no deployment: section"
        print(f"not deployed ({why}); to serve it: shipyard deploy {model} {version}")
        return
    phase = deployment.split(" ", 1)[0]
    if phase == "completed":
        print(f"deployed: version {version} is the stable arm of {model}; serve it with: shipyard serve")
    elif phase == "awaiting_approval":
        waiting_for = step.details.get("waiting_for") or "an approval"
        print(f"rollout waits for {waiting_for}; once approved (shipyard models approve {model} {version}), a "
              "running gateway finishes it")
    else:
        print(f"rollout started: version {version} takes live {phase} traffic from now on ({deployment}); "
              f"follow it with: shipyard traffic show {model}")
        print("it is served and advances only while a gateway runs (shipyard serve); with none running, the "
              "rollout waits where it is")
