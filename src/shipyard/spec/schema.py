"""The JSON Schema of the pipeline YAML, for editors and ``shipyard schema``.

Point yaml-language-server at it with a first line
``# yaml-language-server: $schema=pipeline.schema.json``.
"""

from __future__ import annotations

from typing import Any

from shipyard.spec.models import MODEL_SECTIONS, TRAINING_SECTIONS, PipelineSpec

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def json_schema() -> dict[str, Any]:
    schema = PipelineSpec.model_json_schema(mode="validation")
    schema.pop("title", None)
    for key in MODEL_SECTIONS:
        schema["properties"][key] = _left_out_not_null(schema["properties"][key])
    return {
        "$schema": DIALECT,
        "title": "shipyard pipeline",
        "description": "One YAML file from raw data to a monitored model serving live traffic, or a "
                       "pipeline of your own steps.",
        **schema,
        **_sections_combine(),
    }


def _left_out_not_null(prop: dict[str, Any]) -> dict[str, Any]:
    """An optional section is written in full or left out, so editors check it as the section alone."""
    branches = [branch for branch in prop.get("anyOf", ()) if branch != {"type": "null"}]
    if len(branches) != 1:
        return prop
    rest = {k: v for k, v in prop.items() if k not in ("anyOf", "default")}
    return {**branches[0], **rest}


def _sections_combine() -> dict[str, Any]:
    """How the top-level sections go together: a model with its data and features, or only steps."""
    together = {key: [other for other in MODEL_SECTIONS if other != key] for key in MODEL_SECTIONS}
    for key in TRAINING_SECTIONS:
        together[key] = ["model"]
    steps_only = {"required": ["steps"], "properties": {"steps": {"minItems": 1}}}
    return {"dependentRequired": together, "anyOf": [{"required": ["model"]}, steps_only]}
