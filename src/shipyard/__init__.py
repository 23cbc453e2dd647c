"""shipyard: one YAML file from raw data to a tracked, registered model."""

__version__ = "0.1.0"
