"""``handle_cached``: the part of ``handle`` that needs no I/O, safe to call on an event loop.

h11's "need more data" idea: ``None`` means "this request needs I/O, call ``handle``".

Invariants:
1. Never blocks. ``handle_cached`` reads no storage and no upstream, verifies no password
   or token, and never waits for a lock that I/O (or anything else) may hold: it takes
   only non-blocking acquires and answers None when one is taken. The one I/O it may do
   is a single ``os.stat`` of the document behind a snapshot on local storage; on other
   stores a snapshot is used only while ``pypi.index_ttl`` says it is young (with the
   default ``0`` that is never, so the answer is None). Logging the access line and
   counting the request happen as in ``handle``.
2. Byte-identical. Whatever it answers, ``handle`` would answer the same (status,
   headers, body), because it runs the same response builders (``simple.py``'s) on the
   same cached snapshots, and the same ``finish``. Anything that would be an error
   (status >= 400), a render, or a fetch is None, and ``handle`` answers it.
3. It answers GET and HEAD of ``/simple``, ``/simple/``, ``/simple/<project>/``,
   ``/pypi/<project>/json`` and ``/pypi/<project>/<version>/json`` once rendered (with
   the Simple pages' 304s, the redirects to a canonical spelling, and the fallback's
   redirects upstream), and ``/health`` on local storage without an upstream; for a caller
   who is anonymous, identified by the host app (``Request.identity``), or whose Basic
   credentials are already in the authenticator's verification cache.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping

import attrs

from ..errors import RegistryError
from ..registry.facade import Registry
from ..registry.results import UpstreamRedirect
from . import health, pypi_json, simple
from .finish import finish
from .messages import Request, Response, redirect_response
from .routing import path_pattern

__all__ = ["handle_cached"]

_SLASH = "{slash:/?}"

CachedHandler = Callable[[Registry, Request, Mapping[str, str]], "Response | UpstreamRedirect | None"]

# The fast path's own routes (GET, and so HEAD): each handler answers what the same
# path's GET route in ``routes.ROUTES`` answers, or None.
FAST_ROUTES: tuple[tuple[re.Pattern[str], CachedHandler], ...] = (
    (path_pattern("/simple"), simple.simple_slash),
    (path_pattern("/simple/"), simple.cached_index_page),
    (path_pattern("/simple/{project}" + _SLASH), simple.cached_project_page),
    (path_pattern("/pypi/{project}/json" + _SLASH), pypi_json.cached_json_api),
    (path_pattern("/pypi/{project}/{version}/json" + _SLASH), pypi_json.cached_json_api),
    (path_pattern("/health"), health.cached_health),
)
_METHODS = frozenset(("GET", "HEAD"))


def handle_cached(registry: Registry, request: Request) -> Response | None:
    """``handle``'s answer when it needs no I/O (see the module invariants), else None."""
    started = time.perf_counter()
    if request.method.upper() not in _METHODS:
        return None  # (cross_site_refusal never refuses GET or HEAD)
    if request.identity is None:
        identity = registry.permissions.cached_identity(request.header("authorization"))
        if identity is None:
            return None
        request = attrs.evolve(request, identity=identity)
    try:
        response = _answer(registry, request)
    except RegistryError:
        return None  # an error: ``handle`` answers it (and reads the body it may carry)
    if response is None or response.status >= 400:
        return None
    return finish(registry, request, response, started)


def _answer(registry: Registry, request: Request) -> Response | None:
    path = request.path or "/"
    for pattern, handler in FAST_ROUTES:
        match = pattern.fullmatch(path)
        if match is not None:
            result = handler(registry, request, match.groupdict())
            if isinstance(result, UpstreamRedirect):
                return redirect_response(302, result.location)
            return result
    return None
