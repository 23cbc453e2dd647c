"""Deployments and their traffic through the API, as the serving plane's own dataclasses."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shipyard.client.remote import rebuild, segment
from shipyard.serving.deployments import DeploymentState
from shipyard.serving.load_failures import LoadFailure

if TYPE_CHECKING:
    from shipyard.client.http import ApiClient
    from shipyard.spec.deployment import DeploymentSpec

Arms = dict[str, tuple[str, float | None] | None]
"""Role -> (version, percent of traffic (mirrored, for a shadow) or None to keep the arm's), or None to remove
the arm."""


def deployment(data: dict[str, Any]) -> tuple[DeploymentState, list[LoadFailure]]:
    """An API deployment as the serving plane's state, and the versions a gateway could not load."""
    failures = [rebuild(LoadFailure, {"model": data["model"], **f}) for f in data.get("load_failures", ())]
    return rebuild(DeploymentState, data), failures


def list_deployments(api: ApiClient) -> tuple[list[DeploymentState], list[LoadFailure]]:
    """Every deployment, by model, and every load failure."""
    states, failures = [], []
    for item in api.pages("/deployments"):
        state, failed = deployment(item)
        states.append(state)
        failures += failed
    return states, failures


def get_deployment(api: ApiClient, model: str) -> tuple[DeploymentState, list[LoadFailure]]:
    return deployment(api.get(f"/deployments/{segment(model)}"))


def deploy(api: ApiClient, model: str, version: str, *, strategy: str, percent: float | None,
           routing_key: str | None, plan: DeploymentSpec | None, reason: str | None) -> DeploymentState:
    body = {"version": version, "strategy": strategy, "percent": percent,
            "routing_key": routing_key, "plan": None if plan is None else plan.model_dump(mode="json"),
            "reason": reason}
    return deployment(api.post(f"/deployments/{segment(model)}", _given(body)))[0]


def set_traffic(api: ApiClient, model: str, arms: Arms, *, routing_key: str | None,
                reason: str | None) -> DeploymentState:
    """Change the arms named in ``arms`` (an arm given as None is removed) and the routing key when given."""
    body: dict[str, Any] = {}
    for role, arm in arms.items():
        if role == "stable":
            body["stable"] = None if arm is None else arm[0]
        else:
            body[role] = None if arm is None else _given({"version": arm[0], "percent": arm[1]})
    if routing_key is not None:
        body["routing_key"] = routing_key
    if reason is not None:
        body["reason"] = reason
    return deployment(api.put(f"/deployments/{segment(model)}/traffic", body))[0]


def rollback(api: ApiClient, model: str, *, reason: str, force: bool) -> DeploymentState:
    return deployment(api.post(f"/deployments/{segment(model)}/rollback", {"reason": reason, "force": force}))[0]


def _given(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v is not None}
