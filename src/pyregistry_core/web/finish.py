"""What every answer gets on its way out, from ``handle`` and the fast path alike:
caching headers by caller, no body for HEAD, one access log line, one request counted."""

from __future__ import annotations

import logging
import time

import attrs

from ..registry.facade import Registry
from .caching import caching_by_caller
from .messages import Request, Response

__all__ = ["finish", "record", "shape"]

access_log = logging.getLogger("pyregistry.access")
_ROUTE_LABELS = frozenset(("simple", "files", "pypi", "api", "health", "metrics", "project"))


def finish(registry: Registry, request: Request, response: Response, started: float) -> Response:
    """The response as sent, logged and counted (``started``: ``time.perf_counter()`` at arrival)."""
    response = shape(registry, request, response)
    record(registry, request.caller.user, request.method, request.path, response, started)
    return response


def shape(registry: Registry, request: Request, response: Response) -> Response:
    """The response as it would be sent (caching headers by caller, no body for HEAD)."""
    response = caching_by_caller(registry, request, response)
    if request.method.upper() == "HEAD" and response.body != b"":
        response = attrs.evolve(response, body=b"")  # RFC 9110 §9.3.2: a GET's headers, no content
    return response


def record(
    registry: Registry, user: str | None, method: str, path: str, response: Response, started: float
) -> None:
    """One access log line (when that log is on) and one request counted, for a sent ``response``."""
    if access_log.isEnabledFor(logging.INFO):
        coding = response.header("content-encoding")
        access_log.info(
            '%s "%s %s" %s %.1fms%s',
            user or "-",
            method,
            path,
            response.status,
            (time.perf_counter() - started) * 1000,
            f" {coding}" if coding else "",
        )
    if registry.metrics.enabled:
        registry.metrics.count_request(_route_label(path), response.status)


def _route_label(path: str) -> str:
    """A low-cardinality label for metrics: the path's first segment, if it is a known one."""
    first = path.split("/", 2)[1] if path.count("/") >= 1 else ""
    return first if first in _ROUTE_LABELS else "other"
