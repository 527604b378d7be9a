"""A FastAPI app with a private package index mounted under ``/packages``.

Run it::

    PYREGISTRY_CONFIG=pyregistry.ini uvicorn fastapi_app:app

``app.mount`` is Starlette's ``Mount``: it passes every URL below ``/packages`` to the
registry with ``/packages`` appended to ``root_path``, so the index is at
``http://HOST:8000/packages/simple/`` and uploads go to ``http://HOST:8000/packages/``.
"""

from __future__ import annotations

import os

import pyregistry_asgi
from fastapi import FastAPI

from pyregistry_core import Registry

PREFIX = "/packages"


def build_registry() -> Registry:
    """The registry from ``PYREGISTRY_CONFIG`` (an INI file), or the embedded defaults."""
    config = os.environ.get("PYREGISTRY_CONFIG") or {"storage.dir": "packages"}
    return Registry.from_config(config, environ=os.environ)


app = FastAPI()


@app.get("/")
def home() -> dict[str, str]:
    """The host app's own endpoint."""
    return {"app": "fastapi", "index": f"{PREFIX}/simple/"}


app.mount(PREFIX, pyregistry_asgi.make_app(build_registry()))
