"""The ``monitoring:`` section: how live traffic is compared with what a version learned from.

The defaults follow common practice and what the statistics can resolve:
- PSI 0.1 / 0.25: the credit-scoring rule of thumb (below 0.1 no meaningful shift,
  above 0.25 a major one); with 20 quantile bins its noise floor on unchanged data is
  about (bins - 1) / n, under 0.02 from 1,000 rows up — hence ``small_sample``.
- Wasserstein distance in units of the reference's spread (IQR, else std): 0.1 / 0.25
  means the bulk of the distribution moved a tenth / a quarter of its width.
- Jensen-Shannon distance (base 2, 0..1) for categories: 0.1 / 0.2.
- 5% / 20% of values outside the training range (numeric) or never seen in training
  (categorical): the model extrapolates there, whatever the distances say. Never-seen
  categories are judged by this share alone, not by a distance or a test, where a single
  new value would decide at any n.
- Below ``small_sample`` rows the binned statistics are noisy, so a difference counts
  only when the KS or chi-square test finds it at ``p_value``; its severity still comes
  from the thresholds above, so a significant but negligible difference is no drift.
  Above ``small_sample`` p-values are not used at all, because at large n they flag
  differences too small to matter.
- The dataset is ``warning`` when a tenth of the features drifted and ``critical``
  when a third did, or when the predictions themselves are critical.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shipyard.spec.durations import Duration


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Levels(_Spec):
    warning: float = Field(gt=0)
    critical: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> Levels:
        if self.critical < self.warning:
            raise ValueError(f"critical ({self.critical:g}) must not be below warning ({self.warning:g})")
        return self


class Webhook(_Spec):
    url: str = Field(pattern=r"^https?://", description="Where severity changes are POSTed.")
    format: Literal["json", "slack", "alertmanager"] = Field(
        default="json", description="A JSON event, a Slack-compatible {'text': ...} message, or alerts for "
                                    "Alertmanager's /api/v2/alerts (labels alertname, severity, team, model).")
    min_severity: Literal["warning", "critical"] = Field(default="warning", description="Quieter changes are "
                                                                                         "not sent here.")


class MonitoringSpec(_Spec):
    window: Duration = Field(default=3600, description="How much recent traffic a drift run reads: seconds or '1h'.")
    psi: Levels = Field(default_factory=lambda: Levels(warning=0.1, critical=0.25))
    wasserstein: Levels = Field(default_factory=lambda: Levels(warning=0.1, critical=0.25))
    jensen_shannon: Levels = Field(default_factory=lambda: Levels(warning=0.1, critical=0.2))
    out_of_range: Levels = Field(default_factory=lambda: Levels(warning=0.05, critical=0.2),
                                 description="Share of numeric values outside the training range.")
    unseen: Levels = Field(default_factory=lambda: Levels(warning=0.05, critical=0.2),
                           description="Share of categorical values never seen in training.")
    small_sample: int = Field(default=1000, ge=10, description="Below this many rows, a test must also confirm "
                                                               "a difference.")
    p_value: float = Field(default=0.01, gt=0, lt=1)
    null_rate_increase: float = Field(default=0.1, gt=0, le=1, description="A rise in a feature's null rate "
                                                                           "that counts as drift.")
    drift_share: Levels = Field(default_factory=lambda: Levels(warning=0.1, critical=1 / 3),
                                description="Share of features drifted for the dataset's severity.")
    min_rows: int = Field(default=100, ge=1, description="Fewer logged rows in the window: no verdict.")
    webhooks: list[Webhook] = Field(default_factory=list, description="Notified when the severity changes.")
    retrain: Literal["off", "auto"] = Field(default="off", description="'auto': a critical report reruns the "
                                                                        "pipeline on the data as it is now.")
    cooldown: Duration = Field(default=6 * 3600, description="Least time between two automatic retrains.")
