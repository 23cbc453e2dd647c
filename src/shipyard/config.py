"""Settings read from the environment.

With nothing set, everything lives under ``SHIPYARD_HOME`` (``./.shipyard``):
the metadata store and MLflow as SQLite files, artifacts as local folders.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, kw_only=True)
class Settings:
    home: Path
    database_url: str
    mlflow_tracking_uri: str
    mlflow_artifact_root: Path
    run_lease_s: float = 30.0
    """How long a pipeline run stays owned by a process that stops renewing its lease."""

    @property
    def artifact_root(self) -> Path:
        return self.home / "artifacts"

    @property
    def prediction_log_root(self) -> Path:
        return self.home / "predictions"

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
        run_lease_s=_positive_float(env, "SHIPYARD_RUN_LEASE_S", 30.0),
    )


def _positive_float(env, name: str, default: float) -> float:
    from shipyard.errors import SpecError

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
