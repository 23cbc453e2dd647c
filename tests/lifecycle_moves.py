"""Moving test versions through the lifecycle the way the platform does, without evaluating real gates."""

from __future__ import annotations

from shipyard.registry import lifecycle


def move(model: str, version: str | int, state: str, *, actor: str = "gate", settings=None):
    """Staging is recorded as a passing gate verdict, so the version may go on to production."""
    if state == "staging":
        return lifecycle.transition(model, version, state, actor=actor, action="gate_passed", gate_verdict=True,
                                    settings=settings)
    return lifecycle.transition(model, version, state, actor=actor, settings=settings)
