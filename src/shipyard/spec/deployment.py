"""The ``deployment:`` section: how a version that passed its gates reaches live traffic."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shipyard.spec.durations import Duration

ROUTING_KEY = re.compile(r"^(header|field):[A-Za-z0-9_.\-]+$")


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ShadowPhase(_Spec):
    duration_s: Duration = Field(default=60, description="How long the version only sees mirrored traffic: "
                                                         "seconds or '24h'. A platform or team min_shadow "
                                                         "(SHIPYARD_MIN_SHADOW) is the least it may ask for.")
    min_requests: int = Field(default=100, ge=1, description="Mirrored requests needed before canary steps start.")


class CanaryPhase(_Spec):
    steps: list[float] = Field(default=[5, 25, 50, 100], min_length=1,
                               description="Percent of live traffic per step, increasing, ending at 100.")
    min_dwell_s: float = Field(default=60, ge=0, description="Least time spent on each step.")
    min_requests: int = Field(default=200, ge=1, description="Least canary requests seen on each step.")

    @field_validator("steps")
    @classmethod
    def _increasing_to_full(cls, steps: list[float]) -> list[float]:
        if any(not 0 < s <= 100 for s in steps):
            raise ValueError("canary steps are percentages in (0, 100]")
        if any(b <= a for a, b in zip(steps, steps[1:])):
            raise ValueError(f"canary steps must increase: {steps}")
        if steps[-1] != 100:
            raise ValueError(f"the last canary step must be 100 (full traffic), not {steps[-1]}")
        return steps


class ServiceLevels(_Spec):
    max_error_rate: float = Field(default=0.01, ge=0, le=1, description="Share of canary requests that may fail.")
    max_p99_latency_ms: float | None = Field(default=None, gt=0, description="Canary p99 latency ceiling.")
    max_prediction_shift: float | None = Field(
        default=None, gt=0, le=1,
        description="Largest total-variation distance between the canary's and stable's predicted labels (for a "
                    "stable version: between its window and its own first day of traffic).")
    max_psi: float | None = Field(
        default=None, gt=0,
        description="Largest PSI of any input feature between the stable version's live inputs across all "
                    "gateways in the last `window` and its reference profile (needs gateways that log "
                    "predictions); a breach rolls back or pages like any other.")
    min_requests: int = Field(default=20, ge=1, description="Canary requests needed before an SLO is judged "
                                                            "(for a stable version: requests across all gateways "
                                                            "in the last `window`).")
    window: Duration = Field(default=300, description="Once rolled out, the stable version is judged on this much "
                                                      "recent traffic across all gateways: seconds or '5m'.")


class DeploymentSpec(_Spec):
    shadow: ShadowPhase | None = Field(default=None, description="Mirror traffic to the version first.")
    canary: CanaryPhase = Field(default_factory=CanaryPhase)
    slo: ServiceLevels = Field(default_factory=ServiceLevels)
    routing_key: str | None = Field(default=None, description="'header:NAME' or 'field:NAME' for sticky A/B.",
                                    json_schema_extra={"pattern": ROUTING_KEY.pattern})

    @field_validator("routing_key")
    @classmethod
    def _routing_key(cls, value: str | None) -> str | None:
        if value is not None and not ROUTING_KEY.match(value):
            raise ValueError(f"'{value}' is not a routing key; write 'header:x-user-id' or 'field:customer_id'")
        return value

    @model_validator(mode="after")
    def _judgeable(self) -> DeploymentSpec:
        if self.slo.min_requests > self.canary.min_requests:
            raise ValueError(f"slo.min_requests ({self.slo.min_requests}) exceeds canary.min_requests "
                             f"({self.canary.min_requests}): a step would advance before its SLOs are judged")
        return self
