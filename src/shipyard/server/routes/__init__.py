"""The ``/api/v1`` routes, one module per plane; each route is a thin caller of its plane's functions."""
