"""The ``promotion:`` section: the gates a version must pass and how it is approved."""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from shipyard.spec.metrics import METRICS, Direction, contradiction, fill_direction, unknown_metric

_RULE = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(>=|<=|>|<)\s*(-?\d+(?:\.\d+)?(?:[eE]-?\d+)?)\s*$")


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _MetricGate(_Spec):
    """A gate judged on one holdout metric, in the metric's registered direction."""

    metric: str = Field(description="Metric compared on the candidate's holdout data, e.g. roc_auc or rmse.")
    direction: Direction | None = Field(
        default=None, description="Follows the metric when omitted (rmse, mae, mape, log_loss, brier are "
                                  "minimized, the others maximized); a value that contradicts the metric is an error.")

    @model_validator(mode="before")
    @classmethod
    def _direction_follows_metric(cls, data: Any) -> Any:
        return fill_direction(data)

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str) -> str:
        problem = unknown_metric(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("direction")
    @classmethod
    def _direction_matches_metric(cls, value: str | None, info: ValidationInfo) -> str | None:
        problem = value and contradiction(info.data.get("metric", ""), value, cls._judged_as)
        if problem:
            raise ValueError(problem)
        return value

    _judged_as: ClassVar[str] = "the gate"


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
    p50_ms_batch1: float | None = Field(default=None, gt=0)
    p99_ms_batch1: float | None = Field(default=None, gt=0)
    p50_ms_batch100: float | None = Field(default=None, gt=0)
    p99_ms_batch100: float | None = Field(default=None, gt=0)
    max_size_mb: float | None = Field(default=None, gt=0)
    max_load_memory_mb: float | None = Field(default=None, gt=0)
    repeats: int = Field(default=200, ge=10, le=10000)


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


class PromotionSpec(_Spec):
    approval: Literal["auto", "manual"] = "auto"
    gates: GatesSpec = Field(default_factory=GatesSpec)


def parse_rule(rule: str) -> tuple[str, str, float]:
    match = _RULE.match(rule)
    return match.group(1), match.group(2), float(match.group(3))
