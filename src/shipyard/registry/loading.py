"""Loading a registered model version safely: digest checked first, types allow-listed."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from shipyard.config import Settings, load_settings
from shipyard.errors import RefusedError


def load_model_version(model_name: str, version: str | int, *, settings: Settings | None = None,
                       extra_modules: tuple[str, ...] = ()):
    """The fitted model of a registered version, refused if its file changed since registration."""
    import mlflow
    from mlflow.tracking import MlflowClient

    from shipyard.registry.trust import loads_safe
    from shipyard.registry.versions import get_version_tags

    settings = settings or load_settings()
    tags = get_version_tags(model_name, str(version), settings=settings)
    expected = tags.get("shipyard.model_sha256")
    if not expected:
        raise RefusedError(f"{model_name} version {version} has no recorded model digest, so its file "
                           "cannot be verified", hint="register it through a shipyard pipeline run")
    source = MlflowClient().get_model_version_download_uri(model_name, str(version))
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=f"{source}/model.skops", dst_path=tmp))
        data = local.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise RefusedError(
            f"the model file of {model_name} version {version} does not match the digest recorded at "
            f"registration (expected {expected[:16]}…, found {actual[:16]}…): it was changed after registration",
            hint="do not load it; re-register the model from a pipeline run")
    return loads_safe(data, extra_modules=extra_modules)
