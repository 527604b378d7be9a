"""A Flask app with a private package index mounted under ``/pypi-private``.

Run it::

    PYREGISTRY_CONFIG=pyregistry.ini gunicorn --workers 2 flask_app:app

Flask answers ``/``; werkzeug's ``DispatcherMiddleware`` hands every URL below
``/pypi-private`` to the registry with ``SCRIPT_NAME=/pypi-private``, so the index is at
``http://HOST:8000/pypi-private/simple/`` and uploads go to
``http://HOST:8000/pypi-private/``.

The registry's config comes from the INI file named by ``PYREGISTRY_CONFIG``; without
one, packages are stored in ``./packages``, anyone may read and nobody may upload (there
are no users). ``PYREGISTRY_<KEY>`` variables override single keys, e.g.
``PYREGISTRY_STORAGE_DIR=/srv/packages``.
"""

from __future__ import annotations

import os

import pyregistry_wsgi
from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from pyregistry_core import Registry

PREFIX = "/pypi-private"


def build_registry() -> Registry:
    """The registry from ``PYREGISTRY_CONFIG`` (an INI file), or the embedded defaults."""
    config = os.environ.get("PYREGISTRY_CONFIG") or {"storage.dir": "packages"}
    return Registry.from_config(config, environ=os.environ)


flask_app = Flask(__name__)


@flask_app.get("/")
def home() -> dict[str, str]:
    """The host app's own page."""
    return {"app": "flask", "index": f"{PREFIX}/simple/"}


# The WSGI callable to serve: Flask for everything, the registry below PREFIX.
app = DispatcherMiddleware(flask_app, {PREFIX: pyregistry_wsgi.make_app(build_registry())})
