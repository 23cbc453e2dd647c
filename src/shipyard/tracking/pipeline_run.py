"""One MLflow run per pipeline run, and the registered model version it produces."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import logging
import re
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard.config import Settings
from shipyard.errors import BackendError
from shipyard.spec.models import PipelineSpec
from shipyard.tracking.environment import capture_environment, git_commit, git_dirty, pip_freeze, requirements_for
from shipyard.tracking.setup import ensure_experiment

_METRIC_NAME = re.compile(r"[^0-9A-Za-z_\-. /]")
_MLFLOW_DIGEST_LENGTH = 32


@dataclass(frozen=True, kw_only=True)
class TrackedRun:
    mlflow_run_id: str
    experiment_id: str
    model_name: str
    model_version: str
    model_uri: str
    model_sha256: str


def metric_key(*parts: str) -> str:
    return ".".join(_METRIC_NAME.sub("_", str(p)) for p in parts)


def _flat_params(spec: PipelineSpec, params: dict[str, Any]) -> dict[str, str]:
    flat = {f"model.{k}": v for k, v in params.items()}
    flat.update({"model.flavor": spec.model.flavor, "model.estimator": spec.model.estimator,
                 "model.task": spec.task(), "split.method": spec.split.method,
                 "split.holdout": spec.split.holdout, "split.seed": spec.split.seed,
                 "data.source": spec.data.source.type, "data.target": spec.data.target})
    return {k: str(v)[:6000] for k, v in flat.items()}


def log_pipeline_run(*, settings: Settings, spec: PipelineSpec, spec_text: str, spec_filename: str,
                     pipeline_run_id: str, model, train, holdout, target: str, data_digests: dict[str, str],
                     params: dict[str, Any], metrics: dict[str, float],
                     slice_metrics: dict[str, dict[str, dict[str, Any]]], validation_report: dict[str, Any],
                     sweep: dict[str, Any] | None = None, extra_modules: tuple[str, ...] = (),
                     tags: dict[str, str] | None = None, source_dir: Path | None = None) -> TrackedRun:
    import mlflow
    from mlflow.exceptions import MlflowException

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    experiment_id = ensure_experiment(spec.name, settings)
    existing = _registered_by(spec.model_name, pipeline_run_id)
    if existing is not None:
        return existing
    commit = git_commit(source_dir) if source_dir else None
    run_tags = {"shipyard.pipeline_run_id": pipeline_run_id, "shipyard.pipeline": spec.name,
                "shipyard.spec_digest": hashlib.sha256(spec_text.encode()).hexdigest(),
                **{f"shipyard.data.{k}_digest": v for k, v in data_digests.items()}}
    if spec.team:
        run_tags["shipyard.team"] = spec.team
    if commit:
        run_tags["mlflow.source.git.commit"] = commit
        run_tags["shipyard.git_dirty"] = str(git_dirty(source_dir))
    version = None
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore", UserWarning)
            with mlflow.start_run(experiment_id=experiment_id, run_name=f"{spec.name}-{pipeline_run_id}",
                                  tags=run_tags, description=spec.description) as run:
                mlflow.log_params(_flat_params(spec, params))
                mlflow.log_metrics({metric_key(k): v for k, v in metrics.items()})
                mlflow.log_metrics({metric_key("slice", column, value, name): float(number)
                                    for column, groups in slice_metrics.items()
                                    for value, values in groups.items()
                                    for name, number in values.items() if number is not None})
                _log_datasets(spec, train, holdout, target, data_digests)
                _log_files(spec, spec_text, spec_filename, validation_report, metrics, slice_metrics, sweep)
                if sweep:
                    _log_trials(sweep, experiment_id)
                model_sha, version = _log_model(spec, model, holdout, target, extra_modules)
                _tag_version(spec, version, pipeline_run_id, data_digests, run_tags, model_sha, tags or {})
                return TrackedRun(mlflow_run_id=run.info.run_id, experiment_id=experiment_id,
                                  model_name=spec.model_name, model_version=str(version.version),
                                  model_uri=f"models:/{spec.model_name}/{version.version}", model_sha256=model_sha)
    except BaseException as exc:
        _discard_incomplete(spec.model_name, pipeline_run_id)
        if isinstance(exc, MlflowException):
            raise BackendError(f"MLflow at {settings.mlflow_tracking_uri} failed: {exc.message}") from None
        raise


def _registered_by(model_name: str, pipeline_run_id: str) -> TrackedRun | None:
    """A complete version this pipeline run registered before (a retried or resumed register step)."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    try:
        versions = client.search_model_versions(
            f"name='{model_name}' and tags.`shipyard.pipeline_run_id`='{pipeline_run_id}'")
    except MlflowException:
        return None
    for version in versions:
        if "shipyard.model_sha256" in version.tags:
            experiment_id = client.get_run(version.run_id).info.experiment_id
            return TrackedRun(mlflow_run_id=version.run_id, experiment_id=experiment_id, model_name=model_name,
                              model_version=str(version.version),
                              model_uri=f"models:/{model_name}/{version.version}",
                              model_sha256=version.tags["shipyard.model_sha256"])
    return None


def _discard_incomplete(model_name: str, pipeline_run_id: str) -> None:
    """Remove what a failed registration left half done, so that no version exists without its tags."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    try:
        for version in client.search_model_versions(f"name='{model_name}'"):
            run_tag = version.tags.get("shipyard.pipeline_run_id")
            if "shipyard.model_sha256" in version.tags:
                continue
            if run_tag in (None, pipeline_run_id) and _run_tag(client, version.run_id) == pipeline_run_id:
                client.delete_model_version(model_name, version.version)
    except MlflowException:
        pass


def _run_tag(client, run_id: str | None) -> str | None:
    if not run_id:
        return None
    try:
        return client.get_run(run_id).data.tags.get("shipyard.pipeline_run_id")
    except Exception:
        return None


def _log_datasets(spec: PipelineSpec, train, holdout, target: str, digests: dict[str, str]) -> None:
    import mlflow

    source = spec.data.source
    where = getattr(source, "path", None) or getattr(source, "query", None)
    for name, frame, context in (("train", train, "training"), ("holdout", holdout, "holdout")):
        digest = digests.get(name, "")[:_MLFLOW_DIGEST_LENGTH] or None
        dataset = mlflow.data.from_pandas(frame, source=str(where), targets=target, name=f"{spec.name}-{name}",
                                          digest=digest)
        mlflow.log_input(dataset, context=context)


def _log_files(spec, spec_text, spec_filename, report, metrics, slice_metrics, sweep) -> None:
    import mlflow

    mlflow.log_text(spec_text, f"spec/{spec_filename}")
    mlflow.log_dict(capture_environment(), "environment/environment.json")
    mlflow.log_text("\n".join(pip_freeze()) + "\n", "environment/requirements.txt")
    mlflow.log_dict(report, "reports/validation.json")
    mlflow.log_dict({"overall": metrics, "slices": slice_metrics}, "reports/metrics.json")
    if sweep:
        mlflow.log_dict(sweep, "reports/sweep.json")


def _log_trials(sweep: dict[str, Any], experiment_id: str) -> None:
    import mlflow

    for trial in sweep["trials"]:
        with mlflow.start_run(experiment_id=experiment_id, nested=True, run_name=f"trial-{trial['number']}",
                              tags={"shipyard.trial_state": trial["state"],
                                    "shipyard.trial_number": str(trial["number"])}):
            mlflow.log_params({k: str(v) for k, v in trial["params"].items()})
            if trial.get("value") is not None:
                mlflow.log_metric(metric_key(sweep["metric"]), trial["value"])
            for step, value in sorted(trial.get("intermediate", {}).items(), key=lambda kv: int(kv[0])):
                mlflow.log_metric(metric_key(sweep["metric"], "fold_mean"), value, step=int(step))


def _log_model(spec: PipelineSpec, model, holdout, target: str, extra_modules: tuple[str, ...]):
    import mlflow
    from mlflow.models import infer_signature
    from mlflow.tracking import MlflowClient

    from shipyard.registry.trust import trusted_types_for

    columns = list(model.feature_names_in_)
    example = holdout[columns].head(5)
    signature = infer_signature(holdout[columns].head(200), model.predict(holdout[columns].head(200)))
    info = mlflow.sklearn.log_model(
        model, name="model", serialization_format="skops",
        skops_trusted_types=trusted_types_for(model, extra_modules=extra_modules),
        signature=signature, input_example=example, pip_requirements=requirements_for(spec.model.flavor),
        registered_model_name=spec.model_name, await_registration_for=0,
    )
    location = mlflow.get_logged_model(info.model_id).artifact_location
    with tempfile.TemporaryDirectory() as tmp:
        local = mlflow.artifacts.download_artifacts(artifact_uri=f"{location}/model.skops", dst_path=tmp)
        model_sha = hashlib.sha256(Path(local).read_bytes()).hexdigest()
    version = MlflowClient().get_model_version(spec.model_name, str(info.registered_model_version))
    return model_sha, version


def _tag_version(spec, version, pipeline_run_id, digests, run_tags, model_sha, extra_tags) -> None:
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    tags = {"shipyard.pipeline_run_id": pipeline_run_id, "shipyard.model_sha256": model_sha,
            "shipyard.spec_digest": run_tags["shipyard.spec_digest"],
            **{f"shipyard.data.{k}_digest": v for k, v in digests.items()}, **extra_tags}
    for key, value in tags.items():
        client.set_model_version_tag(spec.model_name, str(version.version), key, str(value))
