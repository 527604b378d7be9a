"""``handle``: the one entry point of the sans-IO HTTP layer.

Adapters translate their server's request into ``Request`` and ``Response`` back; this
module resolves the caller, dispatches through the route table, turns domain errors
into statuses (``statuses.py``), drops HEAD bodies, and logs and counts every request.
"""

from __future__ import annotations

import logging
import time

import attrs

from ..errors import RegistryError
from ..registry.facade import Registry
from .caching import caching_by_caller
from .cross_site import cross_site_refusal
from .drain import discard_unread
from .messages import FileBody, Request, Response
from .routes import ROUTES
from .routing import dispatch
from .statuses import error_response

__all__ = ["FileBody", "Request", "Response", "handle"]

access_log = logging.getLogger("pyregistry.access")
_ROUTE_LABELS = frozenset(("simple", "files", "pypi", "api", "health", "metrics", "project"))


def handle(registry: Registry, request: Request) -> Response:
    """Answer one request; client mistakes become 4xx, never 500."""
    started = time.perf_counter()
    try:
        if request.identity is None:
            request = attrs.evolve(request, identity=registry.authenticate(request.header("authorization")))
        response = cross_site_refusal(request) or dispatch(ROUTES, registry, request)
    except RegistryError as error:
        response = error_response(error, registry.settings.realm)
    if response.status >= 400:
        # Refused before its body was read (bad credentials, a bad form, another site):
        # read it, so the client gets to read this answer instead of a reset connection.
        discard_unread(request.body, _declared_length(request), registry.upload_limits().max_body_size)
    response = caching_by_caller(registry, request, response)
    if request.method.upper() == "HEAD" and response.body != b"":
        response = attrs.evolve(response, body=b"")  # RFC 9110 §9.3.2: a GET's headers, no content
    if access_log.isEnabledFor(logging.INFO):
        access_log.info(
            '%s "%s %s" %s %.1fms',
            request.caller.user or "-",
            request.method,
            request.path,
            response.status,
            (time.perf_counter() - started) * 1000,
        )
    registry.metrics.count_request(_route_label(request.path), response.status)
    return response


def _declared_length(request: Request) -> int | None:
    try:
        return int(request.header("content-length") or "")
    except ValueError:
        return None


def _route_label(path: str) -> str:
    """A low-cardinality label for metrics: the path's first segment, if it is a known one."""
    first = path.split("/", 2)[1] if path.count("/") >= 1 else ""
    return first if first in _ROUTE_LABELS else "other"
