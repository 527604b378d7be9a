"""A minimal Django project serving a private package index under ``/packages``.

``settings.py`` holds the settings and the URLs, ``wsgi.py`` and ``asgi.py`` put the
registry in front of Django. Run one of them from ``docs/examples``::

    PYREGISTRY_CONFIG=pyregistry.ini gunicorn --workers 2 django_project.wsgi:application
    PYREGISTRY_CONFIG=pyregistry.ini uvicorn django_project.asgi:application

The registry is not a Django app: it needs no database, models or middleware, and
Django never sees its requests.
"""

from __future__ import annotations

import os

from pyregistry_core import Registry

PREFIX = "/packages"


def build_registry() -> Registry:
    """The registry from ``PYREGISTRY_CONFIG`` (an INI file), or the embedded defaults."""
    config = os.environ.get("PYREGISTRY_CONFIG") or {"storage.dir": "packages"}
    return Registry.from_config(config, environ=os.environ)
