"""Settings read from the environment.

With nothing set, everything lives under ``SHIPYARD_HOME`` (``./.shipyard``):
the metadata store and MLflow as SQLite files, artifacts as local folders.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipyard.errors import SpecError

DURABILITIES = ("buffered", "spool", "fsync")
PAGE_FORMATS = ("alertmanager", "json", "slack")
GATEWAY_SCOPES = ("inference", "metrics")
"""What a gateway can require a token for: its inference endpoints, its ``/metrics``."""

@dataclass(frozen=True, kw_only=True)
class Settings:
    home: Path
    database_url: str
    mlflow_tracking_uri: str
    mlflow_artifact_root: Path
    artifact_url: str | None = None
    """Where artifacts live when not under the home: a folder or any fsspec URL (``s3://bucket/prefix``)."""
    prediction_log_url: str | None = None
    """Where the prediction log lives when not under the home: a folder or any fsspec URL."""
    mlflow_artifact_url: str | None = None
    """MLflow's artifact root for new experiments when not under the home, e.g. ``s3://bucket/mlflow``."""
    prediction_log_flush_s: float = 1.0
    prediction_log_durability: str = "buffered"
    run_lease_s: float = 30.0
    """How long a pipeline run stays owned by a process that stops renewing its lease."""
    preemption_grace_s: float = 30.0
    """After SIGTERM, how long running steps have to save a checkpoint and stop before they are killed."""
    checkpoint_every: int = 10
    """The built-in train step checkpoints a boosted model every this many rounds."""
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_jwks_url: str | None = None
    oidc_roles_claim: str = "groups"
    """The JWT claim listing ``team:role`` strings (``platform:admin`` makes a platform admin)."""
    oidc_client_id: str | None = None
    """The dashboard's public client at the issuer (``SHIPYARD_OIDC_CLIENT_ID``): with it, the dashboard signs
    users in by redirect (Authorization Code with PKCE) and sends the access token it gets as the bearer."""
    oidc_scopes: str = "openid profile"
    """The scopes the dashboard asks the issuer for (``SHIPYARD_OIDC_SCOPES``, space-separated)."""
    gateway_require_token: tuple[str, ...] = ()
    """The :data:`GATEWAY_SCOPES` a gateway refuses to serve without a token granting them."""
    audit_signing_key: Path | None = None
    """PEM Ed25519 private key that signs the audit log's checkpoints; none: the log is not anchored."""
    audit_public_key: Path | None = None
    """PEM Ed25519 public key that checks checkpoints (default: the signing key's own)."""
    audit_checkpoint_every: int = 100
    """A checkpoint is written once this many events were appended since the last one."""
    audit_checkpoint_interval_s: float = 3600.0
    """... and on the first event after this long without one."""
    audit_checkpoint_url: str | None = None
    """Folder (path or fsspec URL) of the checkpoints; default ``<artifact root>/audit/checkpoints``."""
    audit_retention: str = "7y"
    """How long audit events must be kept before they may be pruned: years or days, e.g. '7y', '400d'."""
    quotas_file: Path | None = None
    """The TOML file declaring team quotas (``SHIPYARD_QUOTAS``); None when no quotas are declared."""
    prices_file: Path | None = None
    """The TOML price list cost is computed with (``SHIPYARD_PRICES``); None when no prices are declared."""
    gateway_resources: dict[str, Any] = field(default_factory=dict)
    """What one gateway replica requests (``SHIPYARD_GATEWAY_RESOURCES``: ``cpu``, ``memory`` bytes, ``gpu``,
    ``gpu_type``): its serving time is charged at these resources' prices; empty charges none."""
    min_shadow_s: float = 0.0
    slo_watch_interval_s: float = 5.0
    """How often each gateway publishes its stable versions' windows, and the watch's holder judges the fleet's."""
    slo_watch_lease_s: float = 15.0
    """How long a gateway that stops renewing keeps a model's stable watch from the others."""
    stable_baseline_s: float = 86400.0
    """How much of a stable version's first traffic makes the baseline its prediction shift is judged against."""
    page_url: str | None = None
    """Where a breaching stable version with nothing to roll back to is paged (``SHIPYARD_PAGE_URL``)."""
    page_format: str = "alertmanager"
    """The page's body: Alertmanager alerts (POST to ``/api/v2/alerts``), a JSON event or a Slack message."""
    """The platform's mandatory shadow stage: how long a version must mirror traffic before it takes live
    traffic (0: none, the embedded default; production sets e.g. 24h)."""

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_audience and self.oidc_jwks_url)

    @property
    def artifact_root(self) -> Path | str:
        """A local folder as a Path, an object-store location as its URL."""
        return storage_location(self.artifact_url, self.home / "artifacts")

    @property
    def audit_checkpoints(self) -> str:
        return self.audit_checkpoint_url or f"{str(self.artifact_root).rstrip('/')}/audit/checkpoints"

    @property
    def prediction_log_root(self) -> Path | str:
        """A local folder as a Path, an object-store location as its URL."""
        return storage_location(self.prediction_log_url, self.home / "predictions")

    @property
    def mlflow_artifact_location(self) -> str:
        """MLflow's artifact root as a URI (``file:///…`` for a local folder)."""
        location = storage_location(self.mlflow_artifact_url, self.mlflow_artifact_root)
        return location.resolve().as_uri() if isinstance(location, Path) else location

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
        artifact_url=storage_url(env, "SHIPYARD_ARTIFACTS"),
        prediction_log_url=storage_url(env, "SHIPYARD_PREDICTION_LOG"),
        mlflow_artifact_url=storage_url(env, "SHIPYARD_MLFLOW_ARTIFACTS"),
        prediction_log_flush_s=flush_interval(env.get("SHIPYARD_PREDICTION_LOG_FLUSH_S") or "1",
                                              "SHIPYARD_PREDICTION_LOG_FLUSH_S"),
        prediction_log_durability=durability(env.get("SHIPYARD_PREDICTION_LOG_DURABILITY") or "buffered",
                                             "SHIPYARD_PREDICTION_LOG_DURABILITY"),
        run_lease_s=_positive_float(env, "SHIPYARD_RUN_LEASE_S", 30.0),
        preemption_grace_s=_positive_float(env, "SHIPYARD_PREEMPTION_GRACE_S", 30.0),
        checkpoint_every=_checkpoint_every(env),
        gateway_require_token=gateway_scopes(env.get("SHIPYARD_GATEWAY_REQUIRE_TOKEN") or "",
                                             "SHIPYARD_GATEWAY_REQUIRE_TOKEN"),
        quotas_file=_quotas_file(env, home),
        prices_file=_named_file(env, "SHIPYARD_PRICES", home / "prices.toml", "a TOML price list"),
        gateway_resources=gateway_resources(env.get("SHIPYARD_GATEWAY_RESOURCES") or "",
                                            "SHIPYARD_GATEWAY_RESOURCES"),
        min_shadow_s=min_shadow(env.get("SHIPYARD_MIN_SHADOW") or "0", "SHIPYARD_MIN_SHADOW"),
        slo_watch_interval_s=_positive_float(env, "SHIPYARD_SLO_WATCH_INTERVAL_S", 5.0),
        slo_watch_lease_s=_positive_float(env, "SHIPYARD_SLO_WATCH_LEASE_S", 15.0),
        stable_baseline_s=_positive_float(env, "SHIPYARD_STABLE_BASELINE_S", 86400.0),
        **_pager(env),
        **_oidc(env),
        **_audit(env),
    )


_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_url(location: str | Path) -> bool:
    """Whether a location names an object store (``s3://…``, ``gs://…``) rather than a local folder."""
    return isinstance(location, str) and bool(_URL.match(location)) and not location.startswith("file://")


def storage_location(url: str | None, default: Path) -> Path | str:
    if not url:
        return default
    if is_url(url):
        return url.rstrip("/")
    return Path(url.removeprefix("file://")).expanduser().resolve()


def storage_url(env, name: str) -> str | None:
    """A storage setting: a local folder or an fsspec URL whose scheme has a backend installed."""
    raw = (env.get(name) or "").strip()
    if not raw or not is_url(raw):
        return raw or None
    scheme = raw.split("://", 1)[0]
    import fsspec

    try:
        fsspec.get_filesystem_class(scheme)
    except (ImportError, ValueError) as exc:
        raise SpecError(f"{name}={raw} names storage shipyard cannot open: {exc}", headline="invalid setting",
                        hint="install its backend (pip install 'shipyard[s3]' for s3://), or give a local folder"
                        ) from None
    if scheme in ("s3", "s3a", "gs", "gcs", "az", "abfs") and not raw.split("://", 1)[1].strip("/"):
        raise SpecError(f"{name}={raw} names no bucket", headline="invalid setting",
                        hint="write it as s3://bucket/prefix")
    return raw


def _pager(env) -> dict:
    url = env.get("SHIPYARD_PAGE_URL") or None
    if url is not None and not url.startswith(("http://", "https://")):
        raise SpecError(f"SHIPYARD_PAGE_URL={url} is not an http(s) URL", headline="invalid setting",
                        hint="e.g. http://alertmanager:9093/api/v2/alerts, or unset it")
    page_format = env.get("SHIPYARD_PAGE_FORMAT") or "alertmanager"
    if page_format not in PAGE_FORMATS:
        raise SpecError(f"SHIPYARD_PAGE_FORMAT={page_format} is not a page format; use one of "
                        f"{', '.join(PAGE_FORMATS)}", headline="invalid setting",
                        hint="alertmanager posts alerts to Alertmanager's /api/v2/alerts")
    return {"page_url": url, "page_format": page_format}


def _audit(env) -> dict:
    def key_path(name: str) -> Path | None:
        raw = env.get(name)
        if not raw:
            return None
        path = Path(raw).expanduser().resolve()
        if not path.is_file():
            raise SpecError(f"{name}={raw} is not a file", headline="invalid setting",
                            hint="create a key pair with `shipyard audit keygen --out PATH`, or unset " + name)
        return path

    every = env.get("SHIPYARD_AUDIT_CHECKPOINT_EVERY") or "100"
    if not every.isdigit() or int(every) < 1:
        raise SpecError(f"SHIPYARD_AUDIT_CHECKPOINT_EVERY={every} is not a positive whole number of events",
                        headline="invalid setting", hint="e.g. 100: a checkpoint every 100 audit events")
    retention = env.get("SHIPYARD_AUDIT_RETENTION") or "7y"
    retention_years_days(retention, "SHIPYARD_AUDIT_RETENTION")
    return {"audit_signing_key": key_path("SHIPYARD_AUDIT_SIGNING_KEY"),
            "audit_public_key": key_path("SHIPYARD_AUDIT_PUBLIC_KEY"),
            "audit_checkpoint_every": int(every),
            "audit_checkpoint_interval_s": _positive_float(env, "SHIPYARD_AUDIT_CHECKPOINT_INTERVAL_S", 3600.0),
            "audit_checkpoint_url": env.get("SHIPYARD_AUDIT_CHECKPOINTS") or None,
            "audit_retention": retention}


def _checkpoint_every(env) -> int:
    raw = env.get("SHIPYARD_CHECKPOINT_EVERY") or "10"
    if not raw.isdigit() or int(raw) < 1:
        raise SpecError(f"SHIPYARD_CHECKPOINT_EVERY={raw} is not a positive whole number of boosting rounds",
                        headline="invalid setting", hint="e.g. 10: a checkpoint every 10 rounds")
    return int(raw)


_RETENTION = re.compile(r"^\s*(\d+)\s*([yd])\s*$")


def retention_years_days(text: str, source: str) -> tuple[int, int]:
    """A retention period as (years, days): '7y' is (7, 0), '400d' is (0, 400)."""
    match = _RETENTION.match(text)
    if not match or int(match.group(1)) == 0:
        raise SpecError(f"{source}={text} is not a retention period; give whole years or days, e.g. 7y or 400d",
                        headline="invalid setting", hint="audit events younger than the retention are never pruned")
    amount = int(match.group(1))
    return (amount, 0) if match.group(2) == "y" else (0, amount)


def gateway_resources(text: str, source: str) -> dict[str, Any]:
    """``cpu=2,memory=4GiB,gpu=1,gpu_type=T4`` (any of them; Kubernetes' ``250m`` and ``4Gi`` read too) as a dict."""
    from shipyard.spec.models import parse_size

    allowed = ("cpu", "memory", "gpu", "gpu_type")
    found: dict[str, Any] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        key, _, value = (piece.strip() for piece in item.partition("="))
        try:
            if key not in allowed or key in found or not value:
                raise ValueError(f"'{item}' is not one of {', '.join(allowed)} given once as key=value")
            if key == "memory":
                found[key] = parse_size(value + "B" if value.endswith("i") else value)
            elif key == "gpu_type":
                found[key] = value
            elif key == "cpu" and value.endswith("m"):  # Kubernetes millicores
                found[key] = float(value[:-1]) / 1000
            else:
                found[key] = float(value)
                if not found[key] >= 0:
                    raise ValueError(f"{key} = {value} is negative")
        except ValueError as exc:
            raise SpecError(f"{source}={text!r}: {exc}", headline="invalid setting",
                            hint="give what one gateway replica requests, e.g. cpu=2,memory=4GiB,gpu=1,gpu_type=T4"
                            ) from None
    return found


def _quotas_file(env, home: Path) -> Path | None:
    """``SHIPYARD_QUOTAS`` when set (it must exist), else ``quotas.toml`` under the home when present."""
    named = env.get("SHIPYARD_QUOTAS")
    if named:
        path = Path(named).expanduser().resolve()
        if not path.is_file():
            raise SpecError(f"SHIPYARD_QUOTAS={named} names no file", headline="invalid setting",
                            hint="point it at a TOML file of team quotas, or unset it to declare none")
        return path
    default = home / "quotas.toml"
    return default if default.is_file() else None


def _named_file(env, name: str, default: Path, what: str) -> Path | None:
    """The file the variable ``name`` names (it must exist), else ``default`` when present."""
    named = env.get(name)
    if named:
        path = Path(named).expanduser().resolve()
        if not path.is_file():
            raise SpecError(f"{name}={named} names no file", headline="invalid setting",
                            hint=f"point it at {what}, or unset it")
        return path
    return default if default.is_file() else None


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
    client_id = env.get("SHIPYARD_OIDC_CLIENT_ID") or None
    if client_id and not given:
        raise SpecError("SHIPYARD_OIDC_CLIENT_ID is set but no issuer is configured",
                        headline="invalid setting", hint="set " + ", ".join(names.values())
                        + " too (the dashboard signs in at that issuer), or unset SHIPYARD_OIDC_CLIENT_ID")
    scopes = " ".join((env.get("SHIPYARD_OIDC_SCOPES") or "openid profile").split())
    if "openid" not in scopes.split():
        raise SpecError(f"SHIPYARD_OIDC_SCOPES={scopes!r} lacks the 'openid' scope",
                        headline="invalid setting", hint="list 'openid' among the scopes, e.g. 'openid profile'")
    return {**values, "oidc_roles_claim": env.get("SHIPYARD_OIDC_ROLES_CLAIM") or "groups",
            "oidc_client_id": client_id, "oidc_scopes": scopes}


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
