"""The pipeline YAML: load, validate, JSON Schema."""

from shipyard.spec.loader import LoadedSpec, load_spec, parse_spec
from shipyard.spec.models import PipelineSpec
from shipyard.spec.schema import json_schema

__all__ = ["LoadedSpec", "PipelineSpec", "json_schema", "load_spec", "parse_spec"]
