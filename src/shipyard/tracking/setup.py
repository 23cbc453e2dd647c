"""Pointing MLflow at the configured tracking store."""

from __future__ import annotations

from shipyard.config import Settings
from shipyard.errors import BackendError


def configure_mlflow(settings: Settings) -> None:
    import mlflow

    if settings.mlflow_tracking_uri.startswith("sqlite:///"):
        settings.home.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    mlflow.set_registry_uri(settings.mlflow_tracking_uri)


def ensure_experiment(name: str, settings: Settings) -> str:
    """The experiment's id, created (race-safe) with its artifacts under the home when embedded."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    configure_mlflow(settings)
    client = MlflowClient()
    try:
        experiment = client.get_experiment_by_name(name)
        if experiment is not None:
            return experiment.experiment_id
        location = None
        if not settings.mlflow_tracking_uri.startswith(("http://", "https://", "databricks")):
            location = (settings.mlflow_artifact_root / name).as_uri()
        try:
            return client.create_experiment(name, artifact_location=location)
        except MlflowException:
            experiment = client.get_experiment_by_name(name)
            if experiment is None:
                raise
            return experiment.experiment_id
    except MlflowException as exc:
        raise BackendError(f"MLflow at {settings.mlflow_tracking_uri} failed: {exc.message}",
                           hint="check MLFLOW_TRACKING_URI, or unset it to use the embedded store") from None
