"""The registry as a bare ASGI app under a prefix, no framework: run it with uvicorn.

Served directly, ``app`` answers below ``/packages`` and 404 elsewhere::

    PYREGISTRY_CONFIG=pyregistry.ini uvicorn bare_asgi:app

It only sets ``root_path``: for a request below the prefix it appends ``/packages`` to
the scope's ``root_path`` and leaves ``path`` whole (ASGI's ``path`` includes
``root_path``); the registry strips the prefix and puts it in every URL it makes.

Behind a reverse proxy that *strips* the prefix (forwards ``/packages/simple/`` as
``/simple/``), serve ``registry_app`` instead and let uvicorn set ``root_path``::

    PYREGISTRY_CONFIG=pyregistry.ini uvicorn --root-path /packages bare_asgi:registry_app
"""

from __future__ import annotations

import os
from typing import Any

import pyregistry_asgi

from pyregistry_core import Registry

PREFIX = "/packages"


def build_registry() -> Registry:
    """The registry from ``PYREGISTRY_CONFIG`` (an INI file), or the embedded defaults."""
    config = os.environ.get("PYREGISTRY_CONFIG") or {"storage.dir": "packages"}
    return Registry.from_config(config, environ=os.environ)


registry_app = pyregistry_asgi.make_app(build_registry())


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The registry below ``PREFIX``; 404 for any other path."""
    if scope["type"] != "http":
        await registry_app(scope, receive, send)  # lifespan
        return
    mount = scope.get("root_path", "") + PREFIX
    path = scope["path"]
    if path == mount or path.startswith(mount + "/"):
        await registry_app({**scope, "root_path": mount}, receive, send)
        return
    body = b"Not found.\n"
    await send(
        {
            "type": "http.response.start",
            "status": 404,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
