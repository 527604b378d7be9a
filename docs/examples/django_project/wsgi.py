"""WSGI entry point: Django for everything, the registry below ``/packages``.

werkzeug's ``DispatcherMiddleware`` moves the prefix from ``PATH_INFO`` to
``SCRIPT_NAME``, which is how the registry knows where it is mounted.
"""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_project.settings")

import pyregistry_wsgi
from django.core.wsgi import get_wsgi_application
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from . import PREFIX, build_registry

application = DispatcherMiddleware(
    get_wsgi_application(), {PREFIX: pyregistry_wsgi.make_app(build_registry())}
)
