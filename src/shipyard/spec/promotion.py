"""The ``promotion:`` section: the gates a version must pass and how it is approved."""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from shipyard.spec.durations import Duration
from shipyard.spec.metrics import METRICS, Direction, contradiction, fill_direction, unknown_metric

_RULE = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(>=|<=|>|<)\s*(-?\d+(?:\.\d+)?(?:[eE]-?\d+)?)\s*$")


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DirectedMetric(BaseModel):
    """Validators for a ``metric`` and its optional ``direction``, which follows the metric registry."""

    _judged_as: ClassVar[str] = "the gate"

    @model_validator(mode="before")
    @classmethod
    def _direction_follows_metric(cls, data: Any) -> Any:
        return fill_direction(data)

    @field_validator("metric", check_fields=False)
    @classmethod
    def _known_metric(cls, value: str) -> str:
        problem = unknown_metric(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("direction", check_fields=False)
    @classmethod
    def _direction_matches_metric(cls, value: str | None, info: ValidationInfo) -> str | None:
        problem = value and contradiction(info.data.get("metric", ""), value, cls._judged_as)
        if problem:
            raise ValueError(problem)
        return value


class _MetricGate(_Spec, DirectedMetric):
    """A gate judged on one holdout metric, in the metric's registered direction."""

    metric: str = Field(description="Metric compared on the candidate's holdout data, e.g. roc_auc or rmse.")
    direction: Direction | None = Field(
        default=None, description="Follows the metric when omitted (rmse, mae, mape, log_loss, brier are "
                                  "minimized, the others maximized); a value that contradicts the metric is an error.")


class ChampionGate(_MetricGate):
    min_delta: float = Field(default=0.0, description="How much better the candidate must be (absolute).")
    relative: bool = Field(default=False, description="Read min_delta as a share of the champion's value.")

    _judged_as: ClassVar[str] = "the champion gate"


class SliceGuard(_MetricGate):
    max_regression: float = Field(default=0.02, ge=0, description="Largest allowed worsening per slice value, in "
                                                                  "the metric's units.")
    min_rows: int = Field(default=30, ge=1, description="Slice values with fewer holdout rows are not judged.")

    _judged_as: ClassVar[str] = "the slice gate"


class PerformanceBudget(_Spec):
    """Latency budgets (milliseconds, on ``clock``), model size and load memory.

    A latency budget fails only when the lower end of the measurement's 90% confidence
    interval is above the budget plus ``tolerance``: noise alone never rejects a version.
    """

    p50_ms_batch1: float | None = Field(default=None, gt=0, description="Median predict latency, one row (ms).")
    p99_ms_batch1: float | None = Field(default=None, gt=0, description="99th-percentile latency, one row (ms).")
    p50_ms_batch100: float | None = Field(default=None, gt=0, description="Median latency, 100 rows (ms).")
    p99_ms_batch100: float | None = Field(default=None, gt=0, description="99th-percentile latency, 100 rows (ms).")
    max_size_mb: float | None = Field(default=None, gt=0, description="Size of the model file (MB).")
    max_load_memory_mb: float | None = Field(default=None, gt=0,
                                             description="Peak memory added by loading the model (MB).")
    max_ratio_to_champion: float | None = Field(
        default=None, gt=0, description="Largest allowed p99 latency at batch 1 relative to the production "
                                        "version's, both measured in the same rounds (1.2: at most 20% slower).")
    clock: Literal["service", "wall", "cpu"] = Field(
        default="service", description="What the latency budgets limit. service: wall-clock time minus the time "
                                       "spent waiting for a CPU that other processes held (the model's own "
                                       "computing, sleeping and I/O count; wall time where the OS does not "
                                       "report the wait); wall: wall-clock time on the machine as loaded while "
                                       "measuring; cpu: CPU time of every thread of the process.")
    tolerance: float = Field(default=0.1, ge=0, le=1,
                             description="Share over a latency budget that is still read as noise: a budget "
                                         "fails only when the 90% confidence interval lies wholly above "
                                         "budget × (1 + tolerance).")
    repeats: int = Field(default=200, ge=10, le=10000,
                         description="Calls at batch 1 (batch 100 gets a quarter, at least 10), spread over the "
                                     "rounds, unless max_seconds runs out first.")
    rounds: int = Field(default=10, ge=2, le=1000,
                        description="Rounds of interleaved calls; the confidence interval resamples rounds.")
    max_seconds: float = Field(default=3.0, gt=0, le=60,
                               description="Longest the latency measurement may take, warm-up included.")

    @model_validator(mode="after")
    def _rounds_fit_repeats(self) -> PerformanceBudget:
        if self.rounds > self.repeats:
            raise ValueError(f"rounds ({self.rounds}) cannot exceed repeats ({self.repeats}): each round needs "
                             "at least one call; lower rounds or raise repeats")
        return self


class SchemaContract(_Spec):
    contract: str | None = Field(default=None, description="A JSON contract file (relative to the spec); "
                                                           "the production version's signature when omitted.")


def _coherent_rule(rule: str) -> str:
    """A rule parses, names a known metric, and bounds it from the side its direction makes worse."""
    match = _RULE.match(rule)
    if not match:
        raise ValueError(f"'{rule}' is not a threshold rule; write e.g. 'roc_auc >= 0.8' or 'rmse <= 12'")
    name, op, bound = match.group(1), match.group(2), match.group(3)
    problem = unknown_metric(name)
    if problem:
        raise ValueError(f"'{rule}': {problem}")
    known = METRICS[name]
    floor = op in (">=", ">")
    if floor != (known.direction == "maximize"):
        fixed = f"{name} {'<=' if floor else '>='} {bound}"
        raise ValueError(f"'{rule}' sets a {'floor' if floor else 'ceiling'} on {name}, but {name} is "
                         f"{known.better}-is-better, so the rule would pass worse models and fail better ones; "
                         f"write '{fixed}'")
    return rule


ThresholdRule = Annotated[str, AfterValidator(_coherent_rule)]


class GatesSpec(_Spec):
    thresholds: list[ThresholdRule] = Field(
        default_factory=list, description="Rules like 'roc_auc >= 0.8' (a floor on a higher-is-better metric) or "
                                          "'rmse <= 12' (a ceiling on a lower-is-better one).")
    champion: ChampionGate | None = None
    slices: SliceGuard | None = None
    performance: PerformanceBudget | None = None
    schema_contract: SchemaContract | None = Field(default=None, alias="schema")
    card: bool = Field(default=True, description="The model card must exist and match its recorded digests.")

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class DriftGate(_Spec):
    """The candidate's training data (its reference profile) against recent production traffic.

    The score is the share of features that drifted (the monitoring statistics and thresholds of
    the ``monitoring:`` section); above ``threshold`` the candidate is rejected.
    """

    threshold: float = Field(default=0.2, ge=0, le=1,
                             description="Largest allowed dataset drift score: the share of the candidate's "
                                         "features whose training distribution differs from production traffic.")
    window: Duration = Field(default=7 * 86400, description="How much recent production traffic (from the "
                                                              "prediction log) is compared: seconds or '7d'.")
    min_rows: int = Field(default=100, ge=1, description="Fewer logged production rows in the window: the gate is "
                                                         "skipped, with the reason recorded.")


class PromotionSpec(_Spec):
    approval: Literal["auto", "manual"] = "auto"
    gates: GatesSpec = Field(default_factory=GatesSpec)
    drift: DriftGate | None = Field(default=None, description="Block promotion when the candidate's training "
                                                              "data differs from recent production traffic.")


def parse_rule(rule: str) -> tuple[str, str, float]:
    match = _RULE.match(rule)
    return match.group(1), match.group(2), float(match.group(3))
