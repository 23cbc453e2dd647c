"""The JSON Schema of the pipeline YAML, for editors and ``shipyard schema``."""

from __future__ import annotations

from typing import Any

from shipyard.spec.models import PipelineSpec


def json_schema() -> dict[str, Any]:
    schema = PipelineSpec.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "shipyard pipeline", **schema}
