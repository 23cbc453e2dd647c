"""Settings read from the environment.

With nothing set, everything lives under ``SHIPYARD_HOME`` (``./.shipyard``):
the metadata store and MLflow as SQLite files, artifacts as local folders.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from shipyard.errors import SpecError

DURABILITIES = ("buffered", "spool", "fsync")
GATEWAY_SCOPES = ("inference", "metrics")
"""What a gateway can require a token for: its inference endpoints, its ``/metrics``."""

@dataclass(frozen=True, kw_only=True)
class Settings:
    home: Path
    database_url: str
    mlflow_tracking_uri: str
    mlflow_artifact_root: Path
    prediction_log_flush_s: float = 1.0
    prediction_log_durability: str = "buffered"
    run_lease_s: float = 30.0
    """How long a pipeline run stays owned by a process that stops renewing its lease."""
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_jwks_url: str | None = None
    oidc_roles_claim: str = "groups"
    """The JWT claim listing ``team:role`` strings (``platform:admin`` makes a platform admin)."""
    gateway_require_token: tuple[str, ...] = ()
    """The :data:`GATEWAY_SCOPES` a gateway refuses to serve without a token granting them."""
    min_shadow_s: float = 0.0
    """The platform's mandatory shadow stage: how long a version must mirror traffic before it takes live
    traffic (0: none, the embedded default; production sets e.g. 24h)."""

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_audience and self.oidc_jwks_url)

    @property
    def artifact_root(self) -> Path:
        return self.home / "artifacts"

    @property
    def prediction_log_root(self) -> Path:
        return self.home / "predictions"

    @property
    def prediction_spool_root(self) -> Path:
        """Where durable gateways append each answered prediction before answering (one local disk)."""
        return self.home / "prediction-spool"

    @property
    def is_embedded_database(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    home = Path(env.get("SHIPYARD_HOME") or ".shipyard").expanduser().resolve()
    database_url = env.get("SHIPYARD_DATABASE_URL") or f"sqlite:///{home / 'shipyard.db'}"
    tracking_uri = env.get("MLFLOW_TRACKING_URI") or f"sqlite:///{home / 'mlflow.db'}"
    return Settings(
        home=home,
        database_url=database_url,
        mlflow_tracking_uri=tracking_uri,
        mlflow_artifact_root=home / "mlartifacts",
        prediction_log_flush_s=flush_interval(env.get("SHIPYARD_PREDICTION_LOG_FLUSH_S") or "1",
                                              "SHIPYARD_PREDICTION_LOG_FLUSH_S"),
        prediction_log_durability=durability(env.get("SHIPYARD_PREDICTION_LOG_DURABILITY") or "buffered",
                                             "SHIPYARD_PREDICTION_LOG_DURABILITY"),
        run_lease_s=_positive_float(env, "SHIPYARD_RUN_LEASE_S", 30.0),
        gateway_require_token=gateway_scopes(env.get("SHIPYARD_GATEWAY_REQUIRE_TOKEN") or "",
                                             "SHIPYARD_GATEWAY_REQUIRE_TOKEN"),
        min_shadow_s=min_shadow(env.get("SHIPYARD_MIN_SHADOW") or "0", "SHIPYARD_MIN_SHADOW"),
        **_oidc(env),
    )


def _oidc(env) -> dict[str, str | None]:
    names = {"oidc_issuer": "SHIPYARD_OIDC_ISSUER", "oidc_audience": "SHIPYARD_OIDC_AUDIENCE",
             "oidc_jwks_url": "SHIPYARD_OIDC_JWKS_URL"}
    values = {field: env.get(name) or None for field, name in names.items()}
    given = [names[f] for f, v in values.items() if v]
    if given and len(given) != len(names):
        missing = [name for name in names.values() if name not in given]
        raise SpecError(f"OpenID Connect is half configured: {', '.join(given)} set but {', '.join(missing)} not",
                        headline="invalid setting", hint="set all three of " + ", ".join(names.values())
                        + " to accept JWTs, or none of them")
    return {**values, "oidc_roles_claim": env.get("SHIPYARD_OIDC_ROLES_CLAIM") or "groups"}


def flush_interval(text: str | float, source: str) -> float:
    """Seconds the prediction log buffers before writing: a number from 0.01 to 3600."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.01 <= value <= 3600:
        raise SpecError(f"{source}={text} is not a flush interval; give seconds between 0.01 and 3600",
                        headline="invalid setting",
                        hint="the interval bounds what a killed gateway can lose from its prediction log")
    return value


def durability(text: str, source: str) -> str:
    """How the prediction log survives a killed gateway: one of :data:`DURABILITIES`."""
    if text not in DURABILITIES:
        raise SpecError(f"{source}={text} is not a prediction-log durability; use one of {', '.join(DURABILITIES)}",
                        headline="invalid setting",
                        hint="buffered loses at most the flush interval on a kill; spool loses nothing on a kill; "
                             "fsync also survives a power cut")
    return text


def gateway_scopes(text: str, source: str) -> tuple[str, ...]:
    """A comma-separated list of :data:`GATEWAY_SCOPES` (``none`` or empty: no token required)."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if names == ["none"]:
        return ()
    unknown = [n for n in names if n not in GATEWAY_SCOPES]
    if unknown:
        raise SpecError(f"{source}={text} names {', '.join(map(repr, unknown))}, which the gateway cannot require "
                        f"a token for; use {' and/or '.join(GATEWAY_SCOPES)}, comma-separated, or none",
                        headline="invalid setting", hint="e.g. inference,metrics")
    return tuple(sorted(set(names)))


def min_shadow(text: str, source: str) -> float:
    """Seconds of the mandatory shadow stage: a duration like ``24h`` or ``90m``; ``0`` or ``off`` for none."""
    if text.strip().lower() in ("0", "off", "none"):
        return 0.0
    from shipyard.spec.durations import parse_duration

    try:
        return parse_duration(text)
    except ValueError:
        raise SpecError(f"{source}={text} is not a duration", headline="invalid setting",
                        hint="write e.g. 24h, 90m or 3600 (seconds); 0 or off for no mandatory shadow stage") from None


def _positive_float(env, name: str, default: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise SpecError(f"{name} must be a positive number of seconds, got {raw!r}",
                        headline="invalid setting", hint=f"unset {name} or set it to e.g. 30")
    return value
