"""The files of an MLflow model's artifact folder, read as bytes, and the digests that pin them.

At registration every file of the folder (the model file, ``MLmodel`` with the signature,
the input examples, the requirements and environment files) is digested into one
manifest; before a load the folder is read again and compared with it file by file.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from shipyard.errors import RefusedError

FILES_TAG = "shipyard.files_sha256"
# MLflow writes this note (the registered name and version) into a local model folder whenever
# the version is downloaded through a models:/ URI; it is bookkeeping, never read to load a model.
_MLFLOW_DOWNLOAD_NOTE = "registered_model_meta"


def _local_path(artifact_uri: str) -> Path | None:
    from mlflow.utils.file_utils import local_file_uri_to_path

    scheme = urlsplit(artifact_uri).scheme
    if scheme == "file":
        return Path(local_file_uri_to_path(artifact_uri))
    return Path(artifact_uri) if scheme == "" else None


def read_model_folder(artifact_uri: str) -> dict[str, bytes]:
    """Every file under the model's artifact folder (but MLflow's download note), by path relative to it."""
    import mlflow

    with tempfile.TemporaryDirectory() as scratch:
        root = _local_path(artifact_uri)
        if root is None:
            root = Path(mlflow.artifacts.download_artifacts(artifact_uri=artifact_uri, dst_path=scratch))
        return {path.relative_to(root).as_posix(): path.read_bytes()
                for path in sorted(root.rglob("*"))
                if path.is_file() and path.relative_to(root).as_posix() != _MLFLOW_DOWNLOAD_NOTE}


def skops_model_file(files: dict[str, bytes], *, what: str) -> tuple[str, bytes]:
    """The model file's name and bytes, refusing a model not stored in the skops format."""
    import yaml

    mlmodel = yaml.safe_load(files.get("MLmodel", b"")) or {}
    flavor = (mlmodel.get("flavors") or {}).get("sklearn") or {}
    file_name = flavor.get("pickled_model")
    if flavor.get("serialization_format") != "skops" or not isinstance(file_name, str):
        raise RefusedError(
            f"{what} is not a scikit-learn model stored in the skops format "
            f"(found format {flavor.get('serialization_format')!r}); shipyard loads no pickles",
            hint="register the model through a shipyard pipeline run")
    if Path(file_name).is_absolute() or ".." in Path(file_name).parts:
        raise RefusedError(f"{what} names its model file {file_name!r}, outside the model's folder")
    if file_name not in files:
        raise RefusedError(f"{what} names its model file {file_name!r}, but the folder has no such file")
    return file_name, files[file_name]


def digests(files: dict[str, bytes]) -> dict[str, str]:
    return {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())}


def manifest_tag(files: dict[str, bytes]) -> str:
    """The tag value recording every file's digest."""
    return json.dumps(digests(files), sort_keys=True, separators=(",", ":"))


def changed_files(manifest: str, files: dict[str, bytes]) -> list[str]:
    """How ``files`` differ from the recorded ``manifest``: one line per changed, missing or added file."""
    recorded: dict[str, str] = json.loads(manifest)
    actual = digests(files)
    changes = []
    for name in sorted(set(recorded) | set(actual)):
        if name not in actual:
            changes.append(f"{name} is missing")
        elif name not in recorded:
            changes.append(f"{name} was added")
        elif actual[name] != recorded[name]:
            changes.append(f"{name} was changed (sha256 {actual[name][:16]}…, {recorded[name][:16]}… recorded)")
    return changes
