"""The sans-IO HTTP layer: request/response values, ``handle()``, and the routes."""
