"""Lineage of a model version: data source → digest → validation report → run → model version."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shipyard.config import Settings, load_settings


def model_lineage(model_name: str, version: str | int, *, settings: Settings | None = None) -> dict[str, Any]:
    from shipyard.pipeline.artifacts import open_artifact_store
    from shipyard.pipeline.serialization import load_value
    from shipyard.registry.versions import get_version_tags
    from shipyard.spec.loader import parse_spec
    from shipyard.store import runs as store

    settings = settings or load_settings()
    tags = get_version_tags(model_name, str(version), settings=settings)
    run = store.get_run(tags["shipyard.pipeline_run_id"], settings=settings)
    steps = {step.name: step for step in run.steps}
    spec = parse_spec(run.spec_text, source=run.spec_path or "<stored spec>").spec
    artifacts = open_artifact_store(settings)

    report = None
    validate = steps.get("validate")
    if validate and "report" in (validate.outputs or {}):
        report = load_value(artifacts, validate.outputs["report"])

    def digest(step: str, output: str) -> str | None:
        record = steps.get(step)
        return record.outputs[output]["digest"] if record and output in (record.outputs or {}) else None

    return {
        "model": {"name": model_name, "version": str(version), "sha256": tags.get("shipyard.model_sha256"),
                  "uri": f"models:/{model_name}/{version}"},
        "data_source": {**spec.data.source.model_dump(mode="json"),
                        "digest": tags.get("shipyard.data.source_digest"),
                        "base_dir": str(Path(run.spec_path).parent) if run.spec_path else None},
        "ingested": {"digest": digest("ingest", "frame")},
        "validation": {
            "digest": digest("validate", "report"),
            "validated_frame_digest": digest("validate", "frame"),
            "passed": report.get("passed") if report else None,
            "rows_in": report.get("rows_in") if report else None,
            "rows_dropped": report.get("rows_dropped") if report else None,
        },
        "split": {"train_digest": digest("split", "train"), "holdout_digest": digest("split", "holdout")},
        "pipeline_run": {"id": run.id, "status": run.status, "spec_path": run.spec_path,
                         "spec_digest": run.spec_digest, "mlflow_run_id": run.mlflow_run_id},
        "mlflow_tags": tags,
    }
