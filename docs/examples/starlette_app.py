"""A Starlette app with a private package index mounted under ``/pypi``.

Run it::

    PYREGISTRY_CONFIG=pyregistry.ini uvicorn starlette_app:app
"""

from __future__ import annotations

import os

import pyregistry_asgi
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from pyregistry_core import Registry

PREFIX = "/pypi"


def build_registry() -> Registry:
    """The registry from ``PYREGISTRY_CONFIG`` (an INI file), or the embedded defaults."""
    config = os.environ.get("PYREGISTRY_CONFIG") or {"storage.dir": "packages"}
    return Registry.from_config(config, environ=os.environ)


async def home(request: Request) -> JSONResponse:
    """The host app's own endpoint."""
    return JSONResponse({"app": "starlette", "index": f"{PREFIX}/simple/"})


app = Starlette(
    routes=[
        Route("/", home),
        Mount(PREFIX, app=pyregistry_asgi.make_app(build_registry())),
    ]
)
