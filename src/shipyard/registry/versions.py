"""Reading registered model versions from the MLflow registry."""

from __future__ import annotations

from shipyard.config import Settings, load_settings
from shipyard.errors import NotFoundError

_MISSING = ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND", "INVALID_PARAMETER_VALUE")
MAX_VERSION = 2**31 - 1
"""MLflow keeps version numbers in an SQL INTEGER column (32 bits on PostgreSQL): no version is higher."""


def filter_literal(value: str) -> str:
    """``value`` quoted for an MLflow search filter."""
    quote = "'" if "'" not in value else '"'
    return f"{quote}{value}{quote}"


def get_model_version(model_name: str, version: str | int, *, settings: Settings | None = None):
    """The MLflow ``ModelVersion``; :class:`NotFoundError` listing the versions there are when it is missing."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    from shipyard.tracking.backend import mlflow_errors, quiet_mlflow
    from shipyard.tracking.setup import configure_mlflow

    settings = settings or load_settings()
    configure_mlflow(settings)
    client = MlflowClient()
    with mlflow_errors(settings, f"reading {model_name} version {version}"), quiet_mlflow():
        if str(version).isdigit() and int(version) > MAX_VERSION:
            raise _not_found(client, model_name, str(version))
        try:
            return client.get_model_version(model_name, str(version))
        except MlflowException as exc:
            if exc.error_code not in _MISSING:
                raise
            raise _not_found(client, model_name, str(version)) from None


def get_version_tags(model_name: str, version: str | int, *, settings: Settings | None = None) -> dict[str, str]:
    return dict(get_model_version(model_name, version, settings=settings).tags)


def _not_found(client, model_name: str, version: str) -> NotFoundError:
    from mlflow.exceptions import MlflowException

    try:
        versions = sorted(int(v.version) for v in client.search_model_versions(f"name = {filter_literal(model_name)}"))
    except MlflowException:
        versions = []
    if versions:
        return NotFoundError(f"model '{model_name}' has no version {version}",
                             hint=f"its versions are: {', '.join(map(str, versions))}")
    return NotFoundError(f"there is no registered model named '{model_name}'",
                         hint="`shipyard runs list` shows runs and the models they registered")
