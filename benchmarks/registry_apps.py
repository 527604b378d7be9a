"""pyregistry's ASGI app for servers that load an app factory by import string.

The server process imports this, so the config path comes from an environment variable
read when the factory is called.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from pyregistry_asgi import make_app

from pyregistry_core import Registry

__all__ = ["REGISTRY_CONFIG_ENV", "pyregistry_asgi"]

REGISTRY_CONFIG_ENV = "BENCH_REGISTRY_CONFIG"

ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]


def pyregistry_asgi() -> ASGIApp:
    """``pyregistry_asgi.make_app`` over the registry configured at ``$BENCH_REGISTRY_CONFIG``."""
    return make_app(Registry.from_config(os.environ[REGISTRY_CONFIG_ENV]))
