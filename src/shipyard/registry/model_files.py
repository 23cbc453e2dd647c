"""The serialized model file inside an MLflow model's artifacts, read as bytes."""

from __future__ import annotations

import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from shipyard.errors import RefusedError


def _local_path(artifact_uri: str) -> Path | None:
    from mlflow.utils.file_utils import local_file_uri_to_path

    scheme = urlsplit(artifact_uri).scheme
    if scheme == "file":
        return Path(local_file_uri_to_path(artifact_uri))
    return Path(artifact_uri) if scheme == "" else None


def _read(artifact_uri: str, relative: str, scratch: Path) -> bytes:
    import mlflow

    local = _local_path(artifact_uri)
    if local is not None:
        return (local / relative).read_bytes()
    downloaded = mlflow.artifacts.download_artifacts(artifact_uri=f"{artifact_uri.rstrip('/')}/{relative}",
                                                     dst_path=str(scratch))
    return Path(downloaded).read_bytes()


def read_skops_model(artifact_uri: str, *, what: str) -> tuple[str, bytes]:
    """The model file's name and bytes, refusing a model not stored in the skops format."""
    import yaml

    with tempfile.TemporaryDirectory() as scratch:
        mlmodel = yaml.safe_load(_read(artifact_uri, "MLmodel", Path(scratch))) or {}
        flavor = (mlmodel.get("flavors") or {}).get("sklearn") or {}
        file_name = flavor.get("pickled_model")
        if flavor.get("serialization_format") != "skops" or not isinstance(file_name, str):
            raise RefusedError(
                f"{what} is not a scikit-learn model stored in the skops format "
                f"(found format {flavor.get('serialization_format')!r}); shipyard loads no pickles",
                hint="register the model through a shipyard pipeline run")
        if Path(file_name).is_absolute() or ".." in Path(file_name).parts:
            raise RefusedError(f"{what} names its model file {file_name!r}, outside the model's folder")
        return file_name, _read(artifact_uri, file_name, Path(scratch))
