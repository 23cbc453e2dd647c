"""Logging a fitted model into the active MLflow run and registering it as a tagged version.

The two are separate steps: a run logged while the tracking server was out registers its
version later, when the run is synced.

The version is created together with its tags, so no version ever exists without
the digests — of the model file and of every other file in its folder — that
:func:`shipyard.registry.loading.load_model_version` checks.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass

from shipyard.errors import RefusedError

_log = logging.getLogger(__name__)

SIGNATURE_ROWS = 200
EXAMPLE_ROWS = 5
_ALLOW_LOADING = "MLFLOW_ALLOW_PICKLE_DESERIALIZATION"


def find_registered_version(model_name: str, pipeline_run_id: str):
    """The version a pipeline run registered already (a retried or resumed register step), or None."""
    from mlflow.tracking import MlflowClient

    from shipyard.registry.versions import filter_literal

    versions = MlflowClient().search_model_versions(
        f"name = {filter_literal(model_name)} and tags.`shipyard.pipeline_run_id` = {filter_literal(pipeline_run_id)}")
    complete = [v for v in versions if "shipyard.model_sha256" in v.tags]
    return min(complete, key=lambda v: int(v.version)) if complete else None


@contextlib.contextmanager
def _mlflow_may_load_what_it_writes() -> Iterator[None]:
    """Let MLflow load back the model it has just written, to check its input example can be served.

    The file holds only the types shipyard's policy accepted a moment before.
    """
    previous = os.environ.get(_ALLOW_LOADING)
    os.environ[_ALLOW_LOADING] = "true"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(_ALLOW_LOADING, None)
        else:
            os.environ[_ALLOW_LOADING] = previous


def _same_predictions(left, right) -> bool:
    import numpy as np

    left, right = np.asarray(left), np.asarray(right)
    try:
        return bool(np.array_equal(left, right, equal_nan=True))
    except TypeError:
        return bool(np.array_equal(left, right))


def feature_columns(model, holdout, target: str) -> list[str]:
    names = getattr(model, "feature_names_in_", None)
    return [str(c) for c in names] if names is not None else [c for c in holdout.columns if c != target]


def _log_metrics(run_id: str, model_id: str, metrics: dict[str, float]) -> None:
    """The run's metrics, and the same values as the logged model's metrics.

    Logged after the model, so MLflow does not read each metric's history back to link it.
    """
    import time

    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    if not metrics:
        return
    now = int(time.time() * 1000)
    client = MlflowClient()
    client.log_batch(run_id, metrics=[Metric(key, value, now, 0) for key, value in metrics.items()])
    client.log_batch(run_id, metrics=[Metric(key, value, now, 0, run_id=run_id, model_id=model_id)
                                      for key, value in metrics.items()])


@dataclass(frozen=True, kw_only=True)
class LoggedModelFiles:
    """A model logged in a run and checked: where it is and the digests a registered version carries."""

    model_id: str
    model_uri: str
    sha256: str
    files_manifest: str


def log_checked_model(*, model, holdout, target: str, run_id: str, flavor: str,
                      extra_modules: tuple[str, ...] = (), metrics: dict[str, float] | None = None) -> LoggedModelFiles:
    """Log ``model`` (skops) and ``metrics`` in the active run and check that the stored file reproduces it."""
    import mlflow
    from mlflow.models import infer_signature

    from shipyard.registry.model_files import manifest_tag, read_model_folder, skops_model_file
    from shipyard.registry.trust import loads_safe, trusted_types_for
    from shipyard.tracking.environment import requirements_for

    sample = holdout[feature_columns(model, holdout, target)].head(SIGNATURE_ROWS)
    predictions = model.predict(sample)
    trusted = trusted_types_for(model, extra_modules=extra_modules)
    with _mlflow_may_load_what_it_writes():
        info = mlflow.sklearn.log_model(
            model, name="model", serialization_format="skops", skops_trusted_types=trusted,
            signature=infer_signature(sample, predictions), input_example=sample.head(EXAMPLE_ROWS),
            pip_requirements=requirements_for(flavor),
        )
    _log_metrics(run_id, info.model_id, metrics or {})
    location = mlflow.get_logged_model(info.model_id).artifact_location
    files = read_model_folder(location)
    _, data = skops_model_file(files, what=f"the model logged in run {run_id}")
    restored = loads_safe(data, extra_modules=extra_modules)
    if not _same_predictions(restored.predict(sample), predictions):
        raise RefusedError(f"the model stored in run {run_id} does not reproduce the fitted model's predictions "
                           "when loaded back, so it was not registered", headline="model not registered")
    return LoggedModelFiles(model_id=info.model_id, model_uri=info.model_uri, sha256=hashlib.sha256(data).hexdigest(),
                            files_manifest=manifest_tag(files))


def register_logged_model(logged: LoggedModelFiles, *, model_name: str, run_id: str, description: str | None,
                          version_tags: dict[str, str]):
    """Register a checked logged model as a version of ``model_name``, created with its digests as tags."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient
    from mlflow.utils.mlflow_tags import MLFLOW_MODEL_VERSIONS

    from shipyard.registry.model_files import FILES_TAG

    client = MlflowClient()
    try:
        client.create_registered_model(model_name, description=description)
    except MlflowException as exc:
        if exc.error_code not in ("RESOURCE_ALREADY_EXISTS", "ALREADY_EXISTS"):
            raise
    version = client.create_model_version(
        model_name, source=logged.model_uri, run_id=run_id, description=description, await_creation_for=0,
        tags={**version_tags, "shipyard.model_sha256": logged.sha256, FILES_TAG: logged.files_manifest},
        model_id=logged.model_id)
    try:
        client.set_logged_model_tags(logged.model_id, {MLFLOW_MODEL_VERSIONS: _version_link(model_name, version)})
    except MlflowException as exc:
        _log.warning("could not link logged model %s to %s version %s: %s", logged.model_id, model_name,
                     version.version, exc.message)
    return version


def _version_link(model_name: str, version) -> str:
    return json.dumps([{"name": model_name, "version": str(version.version)}])
