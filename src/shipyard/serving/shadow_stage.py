"""The mandatory shadow stage: a version mirrors live traffic for a while before it takes any.

The minimum is the larger of the platform's (``SHIPYARD_MIN_SHADOW``) and the owning team's
policy; a rollout plan may ask for more, never less. How long a version has shadowed is read
from the deployment's audit events (each carries the arms before and after), so it needs no
state of its own. Skipping or shortening the stage takes a ``shadow_overridden`` event by someone
holding the override right, which names the shorter minimum allowed for that version.
A model's first version is exempt: with nothing serving, there is no traffic to mirror.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from shipyard.config import Settings, load_settings
from shipyard.errors import RefusedError, UsageError
from shipyard.governance.audit import Event, append_event, read_events
from shipyard.governance.directory import model_team
from shipyard.governance.identity import current_identity
from shipyard.governance.policy import authorize
from shipyard.governance.team_policy import team_policy
from shipyard.registry.lifecycle import get_state
from shipyard.spec.deployment import DeploymentSpec

OVERRIDDEN = "shadow_overridden"
OVERRIDABLE_STATES = ("candidate", "staging")


@dataclass(frozen=True, kw_only=True)
class ShadowStage:
    model: str
    version: str
    required_s: float
    """The policy's minimum: the larger of the platform's and the team's."""
    source: str
    """Which policy set ``required_s``."""
    served_s: float
    """The longest time the version was on the shadow arm without a break."""
    allowed_s: float
    """What the version must shadow: ``required_s``, or what an override shortened it to."""
    override: Event | None = None

    @property
    def passed(self) -> bool:
        return self.served_s >= self.allowed_s


def required_shadow(model: str, *, settings: Settings | None = None) -> tuple[float, str]:
    """Seconds of shadow the model's versions need, and which policy asks for them."""
    settings = settings or load_settings()
    team = model_team(model, settings=settings)
    team_s = team_policy(team, settings=settings).min_shadow_s if team else 0.0
    if team_s > settings.min_shadow_s:
        return team_s, f"team {team}'s min_shadow"
    return settings.min_shadow_s, "the platform's SHIPYARD_MIN_SHADOW"


def _in_shadow(arms: list[dict[str, Any]] | None, version: str) -> bool:
    return any(a.get("role") == "shadow" and str(a.get("version")) == version for a in arms or ())


def served_shadow_s(events: list[Event], version: str, now: datetime) -> float:
    """The longest unbroken time ``version`` spent on the shadow arm, from the deployment's audit events."""
    longest, since = 0.0, None
    for event in events:
        if "after" not in event.details:
            continue
        before, after = _in_shadow(event.details.get("before"), version), _in_shadow(event.details["after"], version)
        if after and (not before or since is None):
            since = event.time
        elif before and not after and since is not None:
            longest, since = max(longest, (event.time - since).total_seconds()), None
    if since is not None:
        longest = max(longest, (now - since).total_seconds())
    return longest


def shadow_overrides(model: str, version: str | int, *, settings: Settings | None = None) -> list[Event]:
    """The audit events that let this version skip or shorten its shadow stage."""
    return [e for e in read_events(model=model, settings=settings)
            if e.version == str(version) and e.action == OVERRIDDEN]


def shadow_stage(model: str, version: str | int, *, settings: Settings | None = None,
                 now: datetime | None = None) -> ShadowStage:
    settings = settings or load_settings()
    version = str(version)
    required, source = required_shadow(model, settings=settings)
    events = read_events(model=model, settings=settings)
    overrides = [e for e in events if e.version == version and e.action == OVERRIDDEN]
    override = overrides[-1] if overrides else None
    allowed = min(required, float(override.details["allowed_s"])) if override else required
    served = served_shadow_s(events, version, now or datetime.now(timezone.utc))
    return ShadowStage(model=model, version=version, required_s=required, source=source, served_s=served,
                       allowed_s=allowed, override=override)


def require_shadow_passed(model: str, version: str | int, *, stable_version: str | None, what: str,
                          settings: Settings | None = None) -> ShadowStage | None:
    """Refuse live traffic (``what``) for a version that has not shadowed as long as the policy asks.

    ``stable_version`` is what the deployment serves now: with none there is nothing to shadow,
    and the stable version itself has passed long ago.
    """
    version = str(version)
    if stable_version is None or stable_version == version or not required_shadow(model, settings=settings)[0]:
        return None
    stage = shadow_stage(model, version, settings=settings)
    if stage.allowed_s <= 0 or stage.passed:
        return stage
    raise RefusedError(
        f"{model} version {version} has shadowed live traffic for {_duration(stage.served_s)}, but "
        f"{stage.source} requires {_duration(stage.allowed_s)} before it may {what}; nothing was changed",
        headline="shadow stage not passed",
        hint=f"mirror traffic to it first: shipyard deploy {model} {version} --strategy shadow, then deploy it again "
             f"once {_duration(stage.allowed_s)} have passed; or a team admin skips or shortens the stage with a "
             f"reason: shipyard models override-shadow {model} {version} --reason TEXT [--min-shadow DURATION]")


def require_planned_shadow(model: str, version: str | int, plan: DeploymentSpec, *,
                           settings: Settings | None = None) -> ShadowStage | None:
    """Refuse a rollout plan whose shadow phase is shorter than the policy asks (or missing), unless the version
    has shadowed long enough already or an override allows the plan's shorter phase."""
    if not required_shadow(model, settings=settings)[0]:
        return None
    stage = shadow_stage(model, version, settings=settings)
    planned = plan.shadow.duration_s if plan.shadow else 0.0
    if stage.allowed_s <= 0 or stage.passed or planned >= stage.allowed_s:
        return stage
    asked = f"a shadow phase of {_duration(planned)}" if plan.shadow else "no shadow phase"
    raise RefusedError(
        f"the rollout plan of {model} version {version} has {asked}, but {stage.source} requires "
        f"{_duration(stage.allowed_s)}; nothing was changed", headline="shadow stage too short",
        hint=f"set deployment.shadow.duration_s to at least {stage.allowed_s:g} in the spec; or a team admin "
             f"shortens it for this version with a reason: shipyard models override-shadow {model} {version} "
             f"--reason TEXT --min-shadow {planned:g}s")


def override_shadow(model: str, version: str | int, *, reason: str, allowed_s: float = 0.0,
                    settings: Settings | None = None) -> Event:
    """Let a version take live traffic after ``allowed_s`` of shadow (0: none); its own audit event, shown on
    the model card. Needs the override right in the team owning the model."""
    settings = settings or load_settings()
    version = str(version)
    state = get_state(model, version, settings=settings)
    identity = current_identity()
    authorize(identity, "shadow.override", team=model_team(model, settings=settings))
    if not reason or not reason.strip():
        raise RefusedError("skipping or shortening the shadow stage must give a reason", hint="pass --reason TEXT")
    if not allowed_s >= 0:
        raise UsageError(f"a shadow stage of {allowed_s:g} s is not possible; give 0 (skip it) or more seconds")
    if state.state not in OVERRIDABLE_STATES:
        raise RefusedError(f"{model} version {version} is {state.state}; only a candidate or staging version can "
                           "have its shadow stage skipped or shortened")
    required, source = required_shadow(model, settings=settings)
    append_event(actor=identity.name, action=OVERRIDDEN, model=model, version=version, from_state=state.state,
                 to_state=state.state, reason=reason.strip(),
                 details={"required_s": required, "policy": source, "allowed_s": float(allowed_s)},
                 settings=settings)
    return shadow_overrides(model, version, settings=settings)[-1]


def _duration(seconds: float) -> str:
    for unit, size in (("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.3g} {unit}"
    return f"{seconds:.3g} s"
