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

import functools
import re
import time
from collections.abc import Callable, Mapping

import attrs

from ..errors import InvalidProjectName, RegistryError
from ..names import normalize
from ..registry.facade import Registry
from ..registry.results import UpstreamRedirect
from . import health, pypi_json, simple
from .finish import finish
from .messages import Request, Response, redirect_response
from .routing import path_pattern

__all__ = ["FAST_ROUTES", "REQUEST_ONLY", "FastRoute", "fast_route", "handle_cached"]

_SLASH = "{slash:/?}"

CachedHandler = Callable[[Registry, Request, Mapping[str, str]], "Response | UpstreamRedirect | None"]
# What the answers of a route rest on (``prepared.py``): given the route's parameters, two
# functions giving that snapshot (a project's, the project list's; ``REQUEST_ONLY`` for a
# redirect that depends on the request alone): as last read (no I/O at all), and if still
# current (``handle_cached``'s rule); or None for answers never kept.
Snapshot = Callable[[], object]
RestsOn = Callable[[Registry, Mapping[str, str]], "tuple[Snapshot, Snapshot] | None"]
REQUEST_ONLY = object()


def _request_only_now() -> object:
    return REQUEST_ONLY


def _request_only(registry: Registry, params: Mapping[str, str]) -> tuple[Snapshot, Snapshot]:
    return _request_only_now, _request_only_now


def _never(registry: Registry, params: Mapping[str, str]) -> None:
    return None


def _project_list(registry: Registry, params: Mapping[str, str]) -> tuple[Snapshot, Snapshot]:
    return registry.catalog.peek_index, registry.catalog.fresh_index


def _project(registry: Registry, name: str, canonical: bool) -> tuple[Snapshot, Snapshot] | None:
    """The project's snapshot, or the request alone for a redirect to the canonical spelling."""
    try:
        project = normalize(name)
    except InvalidProjectName:
        return None  # a 404: never kept
    if project != name or not canonical:
        return _request_only_now, _request_only_now
    catalog = registry.catalog
    return functools.partial(catalog.peek, project), functools.partial(catalog.fresh_project, project)


def _simple_project(registry: Registry, params: Mapping[str, str]) -> tuple[Snapshot, Snapshot] | None:
    return _project(registry, params["project"], bool(params["slash"]))


def _json_project(registry: Registry, params: Mapping[str, str]) -> tuple[Snapshot, Snapshot] | None:
    return _project(registry, params["project"], True)


@attrs.frozen
class FastRoute:
    """A path the fast path answers (GET, and so HEAD), its handler, and what its answers rest on."""

    pattern: re.Pattern[str]
    handler: CachedHandler
    rests_on: RestsOn
    # Whether an answer from a page counted a page cache hit (``PageCache._rendered``).
    counts_page_hit: bool = False


# Each handler answers what the same path's GET route in ``routes.ROUTES`` answers, or None.
FAST_ROUTES: tuple[FastRoute, ...] = (
    FastRoute(path_pattern("/simple"), simple.simple_slash, _request_only),
    FastRoute(path_pattern("/simple/"), simple.cached_index_page, _project_list),
    FastRoute(path_pattern("/simple/{project}" + _SLASH), simple.cached_project_page, _simple_project, True),
    FastRoute(path_pattern("/pypi/{project}/json" + _SLASH), pypi_json.cached_json_api, _json_project),
    FastRoute(
        path_pattern("/pypi/{project}/{version}/json" + _SLASH), pypi_json.cached_json_api, _json_project
    ),
    FastRoute(path_pattern("/health"), health.cached_health, _never),
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


def fast_route(path: str) -> tuple[FastRoute, Mapping[str, str]] | None:
    """The fast path's route of ``path`` and its parameters, if it has one."""
    for route in FAST_ROUTES:
        match = route.pattern.fullmatch(path or "/")
        if match is not None:
            return route, match.groupdict()
    return None


def _answer(registry: Registry, request: Request) -> Response | None:
    found = fast_route(request.path)
    if found is None:
        return None
    route, params = found
    result = route.handler(registry, request, params)
    if isinstance(result, UpstreamRedirect):
        return redirect_response(302, result.location)
    return result
