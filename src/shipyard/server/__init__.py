"""The platform server: the versioned REST API (``/api/v1``) over every plane, and its authentication."""
