"""Loading a registered model version safely: every file checked against its recorded digest first,
its types allow-listed."""

from __future__ import annotations

import hashlib

from shipyard.config import Settings, load_settings
from shipyard.errors import RefusedError, TamperedError


def load_model_version(model_name: str, version: str | int, *, settings: Settings | None = None,
                       extra_modules: tuple[str, ...] = ()):
    """The fitted model of a registered version, refused if any of its files changed since registration."""
    from shipyard.registry.trust import loads_safe

    return loads_safe(verified_model_bytes(model_name, version, settings=settings), extra_modules=extra_modules)


def verified_model_bytes(model_name: str, version: str | int, *, settings: Settings | None = None) -> bytes:
    """The registered model file's bytes, after checking every file of the version — the model folder
    (model file, ``MLmodel`` and its signature, input examples, requirements) and the model card —
    against the digests recorded at registration."""
    from mlflow.tracking import MlflowClient

    from shipyard.registry.cards import card_record, verify_card
    from shipyard.registry.model_files import FILES_TAG, changed_files, read_model_folder, skops_model_file
    from shipyard.registry.versions import get_model_version
    from shipyard.tracking.backend import mlflow_errors, quiet_mlflow

    settings = settings or load_settings()
    model_version = get_model_version(model_name, version, settings=settings)
    what = f"{model_name} version {model_version.version}"
    expected = model_version.tags.get("shipyard.model_sha256")
    manifest = model_version.tags.get(FILES_TAG)
    if not expected or not manifest:
        missing = "model digest (tag shipyard.model_sha256)" if not expected else f"file digests (tag {FILES_TAG})"
        raise RefusedError(f"{what} has no recorded {missing}, so its files cannot be verified",
                           hint="register the model through a shipyard pipeline run")
    with mlflow_errors(settings, f"reading the model files of {what}"), quiet_mlflow():
        location = MlflowClient().get_model_version_download_uri(model_name, str(model_version.version))
        files = read_model_folder(location)
    changes = changed_files(manifest, files)
    if changes:
        raise TamperedError(f"the files of {what} differ from those recorded at registration: " + "; ".join(changes),
                            headline="model file changed",
                            hint="do not load it; restore the files or register the model again from a pipeline run")
    file_name, data = skops_model_file(files, what=what)
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise TamperedError(
            f"the model file {file_name} of {what} has sha256 {actual}, but {expected} was recorded at "
            "registration: the artifact was changed after registration",
            headline="model file changed", hint="do not load it; register the model again from a pipeline run")
    if card_record(model_name, model_version.version, settings=settings) is not None:
        problems = verify_card(model_name, model_version.version, settings=settings)
        if problems:
            raise TamperedError(f"the model card of {what} does not match its recorded digests: "
                                + "; ".join(problems), headline="model card changed",
                                hint="do not serve it; restore the card or register the model again")
    return data
