"""The JSON Schema of the pipeline YAML, for editors and ``shipyard schema``.

Point yaml-language-server at it with a first line
``# yaml-language-server: $schema=pipeline.schema.json``.
"""

from __future__ import annotations

from typing import Any

from shipyard.spec.models import PipelineSpec

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def json_schema() -> dict[str, Any]:
    schema = PipelineSpec.model_json_schema(mode="validation")
    schema.pop("title", None)
    return {
        "$schema": DIALECT,
        "title": "shipyard pipeline",
        "description": "One YAML file from raw data to a monitored model serving live traffic.",
        **schema,
    }
