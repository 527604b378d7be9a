"""A Flask app whose own login decides who uses the index mounted under ``/packages``.

Run it::

    PYREGISTRY_STORAGE_DIR=/srv/packages gunicorn --workers 2 flask_login_app:app

The host app owns the users (``USERS`` below: werkzeug password hashes and groups). It
checks HTTP Basic credentials itself, for its own pages and, through ``identify=``, for
the registry: ``identify(environ)`` returns ``pyregistry_core.Identity(user, groups)``
or ``None`` (anonymous). The registry's access rules then apply to that identity: here
only signed-in users may read, and only the ``developers`` group may upload::

    twine upload --repository-url http://HOST:8000/packages/ -u alice -p PASSWORD dist/*
    pip install --index-url http://alice:PASSWORD@HOST:8000/packages/simple/ NAME

Without credentials the registry answers 401 with ``WWW-Authenticate: Basic``, so pip
asks for them (or fails when it may not prompt). Any other login works the same way:
read a session cookie or a header your app (or its proxy) set, and return the identity.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from typing import Any

import pyregistry_wsgi
from flask import Flask, Response, request
from werkzeug.datastructures import Authorization
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.security import check_password_hash, generate_password_hash

from pyregistry_core import Identity, Registry

PREFIX = "/packages"

# The host app's users. A real app keeps them in its database; the passwords come from
# the environment here so the example runs as it is.
USERS: dict[str, dict[str, Any]] = {
    "alice": {
        "password_hash": generate_password_hash(os.environ.get("ALICE_PASSWORD", "alice-password")),
        "groups": ("developers",),
    },
    "bob": {
        "password_hash": generate_password_hash(os.environ.get("BOB_PASSWORD", "bob-password")),
        "groups": (),
    },
}


# pip and twine send the credentials with every request, and a good password hash is
# slow on purpose: remember each answer for a minute, keyed by a keyed digest of the
# header (never the password itself).
_CACHE_SECONDS = 60.0
_cache_key = secrets.token_bytes(32)
_checked: dict[bytes, tuple[float, Identity | None]] = {}


def check_login(authorization: str | None) -> Identity | None:
    """The host app's login: HTTP Basic checked against ``USERS`` (answers cached)."""
    if not authorization:
        return None
    digest = hmac.new(_cache_key, authorization.encode("utf-8", "surrogateescape"), hashlib.sha256).digest()
    cached = _checked.get(digest)
    if cached is not None and time.monotonic() - cached[0] < _CACHE_SECONDS:
        return cached[1]
    identity = _verify_basic(authorization)
    if len(_checked) > 10_000:
        _checked.clear()
    _checked[digest] = (time.monotonic(), identity)
    return identity


def _verify_basic(authorization: str) -> Identity | None:
    auth = Authorization.from_header(authorization)
    if auth is None or auth.type != "basic" or auth.username is None:
        return None
    user = USERS.get(auth.username)
    if user is None or not check_password_hash(user["password_hash"], auth.password or ""):
        return None
    return Identity(user=auth.username, groups=tuple(user["groups"]))


def identify(environ: dict[str, Any]) -> Identity | None:
    """Who calls the registry, as the host app sees it (``None``: anonymous)."""
    return check_login(environ.get("HTTP_AUTHORIZATION"))


def build_registry() -> Registry:
    """The registry: signed-in users read, ``developers`` upload; storage from the env."""
    config = os.environ.get("PYREGISTRY_CONFIG") or {
        "storage.dir": "packages",
        "pypi.default_read": "authenticated",
        "pypi.default_write": "developers",
    }
    return Registry.from_config(config, environ=os.environ)


flask_app = Flask(__name__)


@flask_app.get("/")
def home() -> Response | dict[str, str]:
    """A page of the host app behind the same login."""
    identity = check_login(request.headers.get("Authorization"))
    if identity is None:
        return Response("Sign in.\n", 401, {"WWW-Authenticate": 'Basic realm="example"'})
    return {"user": identity.user or "", "index": f"{PREFIX}/simple/"}


app = DispatcherMiddleware(flask_app, {PREFIX: pyregistry_wsgi.make_app(build_registry(), identify=identify)})
