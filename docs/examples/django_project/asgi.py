"""ASGI entry point: a small router sends ``/packages`` to the registry, the rest to Django.

The router leaves ``path`` whole and appends the prefix to ``root_path``, as the ASGI
spec has it (``path`` includes ``root_path``); the registry strips it. Lifespan events go
to the registry app, which acknowledges them (Django's ASGI handler refuses them).
"""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_project.settings")

import pyregistry_asgi
from django.core.asgi import get_asgi_application

from . import PREFIX, build_registry

django_app = get_asgi_application()
registry_app = pyregistry_asgi.make_app(build_registry())


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Route one ASGI connection."""
    if scope["type"] == "lifespan":
        await registry_app(scope, receive, send)
        return
    mount = scope.get("root_path", "") + PREFIX
    path = scope.get("path", "")
    if scope["type"] == "http" and (path == mount or path.startswith(mount + "/")):
        await registry_app({**scope, "root_path": mount}, receive, send)
        return
    await django_app(scope, receive, send)
