"""Reading registered model versions from the MLflow registry."""

from __future__ import annotations

from shipyard.config import Settings, load_settings
from shipyard.errors import BackendError, ShipyardError


def get_version_tags(model_name: str, version: str, *, settings: Settings | None = None) -> dict[str, str]:
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    from shipyard.tracking.setup import configure_mlflow

    settings = settings or load_settings()
    configure_mlflow(settings)
    client = MlflowClient()
    try:
        model_version = client.get_model_version(model_name, str(version))
    except MlflowException as exc:
        if "RESOURCE_DOES_NOT_EXIST" in str(exc.error_code) or "not found" in str(exc).lower():
            raise _not_found(client, model_name, version) from None
        raise BackendError(f"the MLflow registry at {settings.mlflow_tracking_uri} failed: {exc}") from None
    return dict(model_version.tags)


def _not_found(client, model_name: str, version: str) -> ShipyardError:
    from shipyard import errors

    kind = getattr(errors, "NotFoundError", errors.RefusedError)
    try:
        versions = sorted(int(v.version) for v in client.search_model_versions(f"name='{model_name}'"))
    except Exception:
        versions = []
    if versions:
        return kind(f"model '{model_name}' has no version {version}",
                    hint=f"its versions are: {', '.join(map(str, versions))}")
    return kind(f"there is no registered model named '{model_name}'",
                hint="`shipyard runs list` shows runs and the models they registered")
