"""The ``promotion:`` section: the gates a version must pass and how it is approved."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

_RULE = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(>=|<=|>|<)\s*(-?\d+(?:\.\d+)?(?:[eE]-?\d+)?)\s*$")


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ChampionGate(_Spec):
    metric: str = Field(description="Metric compared on the candidate's holdout data, e.g. roc_auc.")
    direction: Literal["maximize", "minimize"] = "maximize"
    min_delta: float = Field(default=0.0, description="How much better the candidate must be (absolute).")
    relative: bool = Field(default=False, description="Read min_delta as a share of the champion's value.")


class SliceGuard(_Spec):
    metric: str
    direction: Literal["maximize", "minimize"] = "maximize"
    max_regression: float = Field(default=0.02, ge=0, description="Largest allowed drop per slice value.")
    min_rows: int = Field(default=30, ge=1, description="Slice values with fewer holdout rows are not judged.")


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


class GatesSpec(_Spec):
    thresholds: list[str] = Field(default_factory=list, description="Rules like 'roc_auc >= 0.8'.")
    champion: ChampionGate | None = None
    slices: SliceGuard | None = None
    performance: PerformanceBudget | None = None
    schema_contract: SchemaContract | None = Field(default=None, alias="schema")
    card: bool = Field(default=True, description="The model card must exist and match its recorded digests.")

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @field_validator("thresholds")
    @classmethod
    def _parse(cls, rules: list[str]) -> list[str]:
        for rule in rules:
            if not _RULE.match(rule):
                raise ValueError(f"'{rule}' is not a threshold rule; write e.g. 'roc_auc >= 0.8' or 'rmse <= 12'")
        return rules


class PromotionSpec(_Spec):
    approval: Literal["auto", "manual"] = "auto"
    gates: GatesSpec = Field(default_factory=GatesSpec)


def parse_rule(rule: str) -> tuple[str, str, float]:
    match = _RULE.match(rule)
    return match.group(1), match.group(2), float(match.group(3))
