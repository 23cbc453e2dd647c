"""The client tests share the API server fixtures with the CLI tests."""

from api_server import api_server, config_home  # noqa: F401  (fixtures)
