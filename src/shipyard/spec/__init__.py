"""The pipeline YAML: load, validate, JSON Schema."""

from shipyard.spec.models import PipelineSpec

__all__ = ["PipelineSpec"]
