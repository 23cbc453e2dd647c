from tracked_run import mlflow_home, tracked  # noqa: F401  (module-scoped fixtures)
