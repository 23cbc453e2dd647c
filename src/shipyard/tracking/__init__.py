"""Experiment tracking in MLflow: one run per pipeline run, environment capture."""
