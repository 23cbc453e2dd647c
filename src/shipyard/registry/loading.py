"""Loading a registered model version safely: its file's digest checked first, its types allow-listed."""

from __future__ import annotations

import hashlib

from shipyard.config import Settings, load_settings
from shipyard.errors import RefusedError


def load_model_version(model_name: str, version: str | int, *, settings: Settings | None = None,
                       extra_modules: tuple[str, ...] = ()):
    """The fitted model of a registered version, refused if its file changed since registration."""
    from shipyard.registry.trust import loads_safe

    return loads_safe(verified_model_bytes(model_name, version, settings=settings), extra_modules=extra_modules)


def verified_model_bytes(model_name: str, version: str | int, *, settings: Settings | None = None) -> bytes:
    """The registered model file's bytes, after checking them against the digest recorded at registration."""
    from mlflow.tracking import MlflowClient

    from shipyard.registry.model_files import read_skops_model
    from shipyard.registry.versions import get_model_version
    from shipyard.tracking.backend import mlflow_errors, quiet_mlflow

    settings = settings or load_settings()
    model_version = get_model_version(model_name, version, settings=settings)
    what = f"{model_name} version {model_version.version}"
    expected = model_version.tags.get("shipyard.model_sha256")
    if not expected:
        raise RefusedError(f"{what} has no recorded model digest (tag shipyard.model_sha256), so its file "
                           "cannot be verified", hint="register the model through a shipyard pipeline run")
    with mlflow_errors(settings, f"reading the model file of {what}"), quiet_mlflow():
        location = MlflowClient().get_model_version_download_uri(model_name, str(model_version.version))
        file_name, data = read_skops_model(location, what=what)
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise RefusedError(
            f"the model file {file_name} of {what} has sha256 {actual}, but {expected} was recorded at "
            "registration: the artifact was changed after registration",
            headline="model file changed", hint="do not load it; register the model again from a pipeline run")
    return data
