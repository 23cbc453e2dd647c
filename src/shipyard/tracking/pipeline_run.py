"""One MLflow run per pipeline run, and the registered model version it produces.

Run layout: params ``model.*`` (estimator params used), ``split.*``, ``spec.*``,
``data.*``, ``sweep.*``; metrics by plain name for the holdout and
``slice.<column>.<value>.<metric>`` per slice; the training and holdout frames
as dataset inputs whose digests are ours; artifacts ``spec/<file>``,
``environment/environment.json``, ``environment/requirements.txt``,
``reports/validation.json``, ``reports/metrics.json``, ``reports/params.json``,
``reports/sweep.json`` and the model under ``model``; sweep trials as child runs.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard.config import Settings
from shipyard.spec.models import PipelineSpec

_MLFLOW_DIGEST_LENGTH = 32
PENDING_VERSION_TAG = "shipyard.pending_version"


@dataclass(frozen=True, kw_only=True)
class TrackedRun:
    mlflow_run_id: str
    experiment_id: str
    model_name: str
    model_version: str | None
    """None while the version waits for the run to be synced to the tracking server."""
    model_uri: str
    model_sha256: str
    pending_version: dict[str, Any] | None = None
    """What registering the version takes once the run is synced: the logged model and the version's tags."""


def _flat_params(spec: PipelineSpec, params: dict[str, Any], sweep: dict[str, Any] | None) -> dict[str, str]:
    from shipyard.tracking.keys import mlflow_key, param_value

    facts: list[tuple[tuple[str, ...], Any]] = [(("model", str(name)), value) for name, value in params.items()]
    facts += [(("spec", "flavor"), spec.model.flavor), (("spec", "estimator"), spec.model.estimator),
              (("spec", "task"), spec.task()), (("split", "method"), spec.split.method),
              (("split", "holdout"), spec.split.holdout), (("split", "seed"), spec.split.seed),
              (("data", "source"), spec.data.source.type), (("data", "target"), spec.data.target)]
    if spec.split.cutoff is not None:
        facts.append((("split", "cutoff"), spec.split.cutoff))
    if sweep:
        facts += [(("sweep", "metric"), sweep.get("metric")), (("sweep", "direction"), sweep.get("direction")),
                  (("sweep", "n_trials"), len(sweep.get("trials", [])))]
    return {mlflow_key(*parts): param_value(value) for parts, value in facts}


def _flat_metrics(metrics: dict[str, Any], slice_metrics: dict[str, dict[str, dict[str, Any]]],
                  sweep: dict[str, Any] | None) -> dict[str, float]:
    from shipyard.tracking.keys import metric_value, mlflow_key

    named: list[tuple[tuple[Any, ...], Any]] = [((name,), value) for name, value in metrics.items()]
    named += [(("slice", column, value, name), number) for column, groups in slice_metrics.items()
              for value, values in groups.items() for name, number in values.items()]
    if sweep and sweep.get("best_value") is not None:
        named.append((("sweep", "best_value"), sweep["best_value"]))
    return {mlflow_key(*parts): number for parts, value in named if (number := metric_value(value)) is not None}


def _json_default(value: Any) -> Any:
    if hasattr(value, "item") and callable(value.item):
        try:
            return value.item()
        except (TypeError, ValueError):
            pass
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _dump(value: Any) -> str:
    return json.dumps(value, indent=2, default=_json_default) + "\n"


def _dataset_source(spec: PipelineSpec, source_dir: Path | None):
    from mlflow.data.code_dataset_source import CodeDatasetSource

    from shipyard.tracking.backend import redact_uri

    source = spec.data.source
    if source.type in ("csv", "parquet"):
        path = Path(source.path)
        if source_dir is not None and not path.is_absolute() and "://" not in source.path:
            path = Path(source_dir) / path
        return str(path)
    tags = {"shipyard.source_type": source.type, "shipyard.query": source.query}
    if source.type == "sql":
        tags["shipyard.url"] = redact_uri(source.url)
    elif source.database:
        tags["shipyard.database"] = source.database
    return CodeDatasetSource(tags=tags)


def frame_schema(frame):
    """The schema MLflow infers for ``frame``, from each column's distinct values.

    MLflow types a column and marks it required from the set of its values, so the distinct
    values give the same schema without a Python-level pass over every row. None when MLflow
    cannot infer one, as for the dataset itself.
    """
    from mlflow.models import infer_signature
    from mlflow.types import Schema

    columns = []
    try:
        for name in frame.columns:
            column = frame[name]
            try:
                column = column.drop_duplicates()
            except TypeError:  # unhashable values: infer from all of them
                pass
            columns += infer_signature(column.to_frame()).inputs.inputs
    except Exception:
        return None
    return Schema(columns)


def _dataset(frame, *, source, target: str, name: str, digest: str | None):
    import mlflow

    dataset = mlflow.data.from_pandas(frame, source=source, targets=target, name=name,
                                      digest=digest[:_MLFLOW_DIGEST_LENGTH] if digest else None)
    schema = frame_schema(frame)
    if schema is not None:
        dataset.schema = schema  # fills the dataset's cached property, which would scan every row
    return dataset


def _log_datasets(spec: PipelineSpec, train, holdout, target: str, digests: dict[str, str],
                  source_dir: Path | None) -> None:
    import mlflow

    source = _dataset_source(spec, source_dir)
    datasets, contexts, tags = [], [], []
    for part, frame, context in (("train", train, "training"), ("holdout", holdout, "holdout")):
        digest = digests.get(part)
        datasets.append(_dataset(frame, source=source, target=target, name=f"{spec.name}-{part}", digest=digest))
        contexts.append(context)
        tags.append({"shipyard.digest": digest} if digest else None)
    mlflow.log_inputs(datasets=datasets, contexts=contexts, tags_list=tags)


def _log_files(*, spec_text: str, spec_filename: str, validation_report: dict[str, Any],
               metrics: dict[str, Any], slice_metrics: dict[str, Any], params: dict[str, Any],
               sweep: dict[str, Any] | None, git: dict[str, Any]) -> None:
    import mlflow

    from shipyard.tracking.environment import capture_environment, pip_freeze

    files = {
        f"spec/{Path(spec_filename).name or 'pipeline.yaml'}": spec_text,
        "environment/environment.json": _dump({**capture_environment(), "git": git}),
        "environment/requirements.txt": "\n".join(pip_freeze()) + "\n",
        "reports/validation.json": _dump(validation_report),
        "reports/metrics.json": _dump({"overall": metrics, "slices": slice_metrics}),
        "reports/params.json": _dump(params),
    }
    if sweep:
        files["reports/sweep.json"] = _dump(sweep)
    with tempfile.TemporaryDirectory() as tmp:
        for relative, text in files.items():
            path = Path(tmp) / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        mlflow.log_artifacts(tmp)


def _tracked(version, *, experiment_id: str) -> TrackedRun:
    return TrackedRun(mlflow_run_id=version.run_id, experiment_id=experiment_id, model_name=version.name,
                      model_version=str(version.version), model_uri=f"models:/{version.name}/{version.version}",
                      model_sha256=version.tags["shipyard.model_sha256"])


def _pending(run, *, experiment_id: str, model_name: str) -> TrackedRun:
    pending = json.loads(run.data.tags[PENDING_VERSION_TAG])
    return TrackedRun(mlflow_run_id=run.info.run_id, experiment_id=experiment_id, model_name=model_name,
                      model_version=None, model_uri=pending["model_uri"], model_sha256=pending["sha256"],
                      pending_version=pending)


def _find_pending(experiment_id: str, pipeline_run_id: str):
    """The run logged for ``pipeline_run_id`` whose version waits for sync, or None."""
    from mlflow.tracking import MlflowClient

    from shipyard.registry.versions import filter_literal

    runs = MlflowClient().search_runs(
        [experiment_id], f"tags.`shipyard.pipeline_run_id` = {filter_literal(pipeline_run_id)}")
    return next((run for run in runs if PENDING_VERSION_TAG in run.data.tags), None)


def log_pipeline_run(*, settings: Settings, spec: PipelineSpec, spec_text: str, spec_filename: str,
                     pipeline_run_id: str, model, train, holdout, target: str, data_digests: dict[str, str],
                     params: dict[str, Any], metrics: dict[str, float],
                     slice_metrics: dict[str, dict[str, dict[str, Any]]], validation_report: dict[str, Any],
                     sweep: dict[str, Any] | None = None, extra_modules: tuple[str, ...] = (),
                     tags: dict[str, str] | None = None, source_dir: Path | None = None,
                     register: bool = True) -> TrackedRun:
    """Log the pipeline run to MLflow and register its model; a second call for the same run returns the first.

    Without ``register`` the model is logged and checked but not registered: the returned run's
    ``pending_version`` says how to register it later (see :mod:`shipyard.tracking.replay`).
    """
    import mlflow
    from mlflow.tracking import MlflowClient
    from mlflow.utils.mlflow_tags import MLFLOW_GIT_COMMIT, MLFLOW_SOURCE_NAME

    from shipyard.registry.registration import find_registered_version, log_checked_model, register_logged_model
    from shipyard.tracking.backend import mlflow_errors, quiet_mlflow
    from shipyard.tracking.environment import git_commit, git_dirty
    from shipyard.tracking.setup import ensure_experiment
    from shipyard.tracking.trials import log_trials

    experiment_id = ensure_experiment(spec.name, settings)
    model_name = spec.model_name
    extra_tags = {str(k): str(v) for k, v in (tags or {}).items()}
    with mlflow_errors(settings, f"logging pipeline run {pipeline_run_id}"), quiet_mlflow():
        existing = find_registered_version(model_name, pipeline_run_id)
        if existing is not None:
            return _tracked(existing, experiment_id=MlflowClient().get_run(existing.run_id).info.experiment_id)
        if not register and (pending := _find_pending(experiment_id, pipeline_run_id)) is not None:
            return _pending(pending, experiment_id=experiment_id, model_name=model_name)

        commit = git_commit(source_dir) if source_dir is not None else None
        git = {"commit": commit, "dirty": git_dirty(source_dir) if commit else None}
        shipyard_tags = {
            "shipyard.pipeline_run_id": pipeline_run_id,
            "shipyard.pipeline": spec.name,
            "shipyard.spec_digest": hashlib.sha256(spec_text.encode()).hexdigest(),
            **{f"shipyard.data.{part}_digest": digest for part, digest in data_digests.items() if digest},
        }
        run_tags = {**extra_tags, **shipyard_tags, MLFLOW_SOURCE_NAME: Path(spec_filename).name or spec_filename}
        if spec.team:
            run_tags["shipyard.team"] = spec.team
        if commit:
            run_tags[MLFLOW_GIT_COMMIT] = commit
            run_tags["shipyard.git_dirty"] = str(git["dirty"]).lower()

        with mlflow.start_run(experiment_id=experiment_id, run_name=f"{spec.name}-{pipeline_run_id}",
                              tags=run_tags, description=spec.description) as run:
            run_id = run.info.run_id
            mlflow.log_params(_flat_params(spec, params, sweep))
            _log_datasets(spec, train, holdout, target, data_digests, source_dir)
            _log_files(spec_text=spec_text, spec_filename=spec_filename, validation_report=validation_report,
                       metrics=metrics, slice_metrics=slice_metrics, params=params, sweep=sweep, git=git)
            if sweep:
                log_trials(experiment_id=experiment_id, parent_run_id=run_id, pipeline_run_id=pipeline_run_id,
                           sweep=sweep)
            logged = log_checked_model(model=model, holdout=holdout, target=target, run_id=run_id,
                                       flavor=spec.model.flavor, extra_modules=tuple(extra_modules),
                                       metrics=_flat_metrics(metrics, slice_metrics, sweep))
            version_tags = {**{**dict(spec.registry.tags), **extra_tags}, **shipyard_tags}
            if not register:
                pending = {"model_id": logged.model_id, "model_uri": logged.model_uri, "sha256": logged.sha256,
                           "files_manifest": logged.files_manifest, "description": spec.description,
                           "version_tags": version_tags}
                mlflow.set_tag(PENDING_VERSION_TAG, json.dumps(pending, sort_keys=True))
                return _pending(MlflowClient().get_run(run_id), experiment_id=experiment_id, model_name=model_name)
            version = register_logged_model(logged, model_name=model_name, run_id=run_id,
                                            description=spec.description, version_tags=version_tags)
    return _tracked(version, experiment_id=experiment_id)
