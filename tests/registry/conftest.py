from tracked_run import tracked  # noqa: F401  (module-scoped fixture)
