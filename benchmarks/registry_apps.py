"""pyregistry's ASGI app for servers that load an app factory by import string.

The server process imports this, so the config path comes from an environment variable
read when the factory is called.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

import pyregistry_wsgi
from pyregistry_asgi import make_app

from pyregistry_core import Registry

__all__ = ["REGISTRY_CONFIG_ENV", "pyregistry_asgi", "pyregistry_wsgi_app", "pyregistry_wsgi_uncompressed"]

REGISTRY_CONFIG_ENV = "BENCH_REGISTRY_CONFIG"

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]


def pyregistry_asgi() -> ASGIApp:
    """``pyregistry_asgi.make_app`` over the registry configured at ``$BENCH_REGISTRY_CONFIG``."""
    return make_app(Registry.from_config(os.environ[REGISTRY_CONFIG_ENV]))


def pyregistry_wsgi_app() -> WSGIApp:
    """``pyregistry_wsgi.make_app`` over the registry configured at ``$BENCH_REGISTRY_CONFIG``."""
    app: WSGIApp = pyregistry_wsgi.make_app(Registry.from_config(os.environ[REGISTRY_CONFIG_ENV]))
    return app


def pyregistry_wsgi_uncompressed() -> WSGIApp:
    """The same app, with every request's ``Accept-Encoding`` removed: pages go uncompressed."""
    app = pyregistry_wsgi_app()

    def without_accept_encoding(
        environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        environ.pop("HTTP_ACCEPT_ENCODING", None)
        return app(environ, start_response)

    return without_accept_encoding
