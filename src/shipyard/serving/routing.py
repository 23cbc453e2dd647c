"""A model's route in one gateway: its loaded arms and how a request picks one."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Any, Mapping

from shipyard.serving.loaded import LoadedVersion


def sticky_bucket(model: str, key: str) -> float:
    """A deterministic point in [0, 1) for a routing key: the same user always lands on the same arm."""
    digest = hashlib.blake2b(f"{model}\x00{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass(frozen=True)
class Route:
    model: str
    stable: LoadedVersion
    revision: int = 0
    canary: LoadedVersion | None = None
    canary_weight: float = 0.0
    ab: LoadedVersion | None = None
    ab_weight: float = 0.0
    shadow: LoadedVersion | None = None
    shadow_weight: float = 0.0
    routing_key: str | None = None
    phase: str | None = None

    def shares(self) -> dict[str, float]:
        """Share of live traffic per loaded arm (an arm that failed to load leaves its share to stable)."""
        live = {role: weight for role, loaded, weight in (("canary", self.canary, self.canary_weight),
                                                          ("ab", self.ab, self.ab_weight)) if loaded is not None}
        return {"stable": max(0.0, 1.0 - sum(live.values())), **live, "shadow": self.shadow_weight}

    def arms(self) -> dict[str, LoadedVersion]:
        return {role: loaded for role, loaded in (("stable", self.stable), ("canary", self.canary),
                                                  ("ab", self.ab), ("shadow", self.shadow)) if loaded is not None}

    def by_version(self, version: str) -> tuple[str, LoadedVersion] | None:
        return next(((role, loaded) for role, loaded in self.arms().items() if loaded.version == version), None)

    def key_of(self, headers: Mapping[str, str], columns: Mapping[str, list], parameters: Mapping[str, Any]) -> str | None:
        if self.routing_key is None:
            return None
        kind, _, name = self.routing_key.partition(":")
        if kind == "header":
            return headers.get(name)
        if name in parameters:
            return str(parameters[name])
        values = columns.get(name)
        return str(values[0]) if values else None

    def pick(self, key: str | None) -> tuple[str, LoadedVersion]:
        """A/B by the sticky bucket of ``key``; canary by a weighted coin; stable otherwise."""
        taken = 0.0
        if self.ab is not None:
            if key is not None and sticky_bucket(self.model, key) < self.ab_weight:
                return "ab", self.ab
            taken = self.ab_weight if key is not None else 0.0
        if self.canary is not None and self.canary_weight > 0:
            rest = 1.0 - taken
            if rest > 0 and random.random() < self.canary_weight / rest:
                return "canary", self.canary
        return "stable", self.stable

    def mirror(self) -> LoadedVersion | None:
        if self.shadow is not None and (self.shadow_weight >= 1 or random.random() < self.shadow_weight):
            return self.shadow
        return None
