"""Model versions, their lifecycle, gates, cards, comparisons and lineage through the API, as the registry's
own dataclasses and dicts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shipyard.client.remote import rebuild, segment
from shipyard.errors import NotFoundError
from shipyard.governance.audit import Event
from shipyard.registry.cards import CardRecord
from shipyard.registry.gating import GateReport
from shipyard.registry.lifecycle import VersionState

if TYPE_CHECKING:
    from shipyard.client.http import ApiClient


def _version_path(model: str, version: str) -> str:
    return f"/models/{segment(model)}/versions/{segment(version)}"


def list_states(api: ApiClient, model: str | None = None) -> list[VersionState]:
    """Every version known to the lifecycle (of ``model``), by model and version as the store orders them."""
    names = [model] if model else [entry["name"] for entry in api.pages("/models", sort="name")]
    states: list[VersionState] = []
    for name in names:
        try:
            states += [rebuild(VersionState, item) for item in api.pages(f"/models/{segment(name)}/versions")]
        except NotFoundError:
            if not model:
                raise
    return sorted(states, key=lambda s: (s.model, s.version))


def version_history(api: ApiClient, model: str, version: str) -> tuple[VersionState, list[Event]]:
    """A version's state and the audit events about it, oldest first."""
    detail = api.get(_version_path(model, version))
    history = detail.pop("history")
    return rebuild(VersionState, detail), rebuild(list[Event], history)


def read_card(api: ApiClient, model: str, version: str, *,
              html_page: bool = False) -> tuple[CardRecord, str, list[Event], list[Event]]:
    """The card's record, its Markdown (or HTML page), and the audit events that overrode its gates and its
    shadow stage."""
    card = api.get(_version_path(model, version) + "/card", format="html" if html_page else "markdown")
    return (rebuild(CardRecord, card), card["text"], rebuild(list[Event], card["gate_overrides"]),
            rebuild(list[Event], card.get("shadow_overrides", [])))


def override_shadow(api: ApiClient, model: str, version: str, *, reason: str, allowed_s: float) -> Event:
    """Let the version skip (``allowed_s`` 0) or shorten its shadow stage; the audit event recording it."""
    return rebuild(Event, api.post(_version_path(model, version) + "/shadow-override",
                                   {"reason": reason, "allowed_s": allowed_s}))


def promote(api: ApiClient, model: str, version: str, *, to: str, reason: str | None) -> VersionState:
    return _change(api, _version_path(model, version) + "/promote", {"to": to, "reason": reason})


def approve(api: ApiClient, model: str, version: str, *, reason: str | None) -> VersionState:
    return _change(api, _version_path(model, version) + "/approve", {"reason": reason})


def override_gates(api: ApiClient, model: str, version: str, *, reason: str) -> VersionState:
    return _change(api, _version_path(model, version) + "/override", {"reason": reason})


def reject(api: ApiClient, model: str, version: str, *, reason: str) -> VersionState:
    return _change(api, _version_path(model, version) + "/reject", {"reason": reason})


def archive(api: ApiClient, model: str, version: str, *, reason: str | None) -> VersionState:
    return _change(api, _version_path(model, version) + "/archive", {"reason": reason})


def rollback(api: ApiClient, model: str, *, reason: str, to_version: str | None, force: bool) -> VersionState:
    return _change(api, f"/models/{segment(model)}/rollback",
                   {"reason": reason, "to_version": to_version, "force": force})


def gate(api: ApiClient, model: str, version: str) -> GateReport:
    """Evaluate the version's gates now (a failing gate rejects it)."""
    return rebuild(GateReport, api.post(_version_path(model, version) + "/gates"))


def compare(api: ApiClient, model: str, left: str, right: str) -> dict[str, Any]:
    return api.get(f"/models/{segment(model)}/compare", left=left, right=right)


def lineage(api: ApiClient, model: str, version: str) -> dict[str, Any]:
    return api.get(_version_path(model, version) + "/lineage")


def _change(api: ApiClient, path: str, body: dict[str, Any]) -> VersionState:
    return rebuild(VersionState, api.post(path, {k: v for k, v in body.items() if v is not None}))
