"""``handle_cached``: the part of ``handle`` that needs no I/O, safe to call on an event loop.

h11's "need more data" idea: ``None`` means "this request needs I/O, call ``handle``".

Invariants:
1. Never blocks. ``handle_cached`` reads no storage and no upstream, verifies no password
   or token, and never waits for a lock that I/O (or anything else) may hold: it takes
   only non-blocking acquires and answers None when one is taken. The one I/O it may do
   is a single ``os.stat`` of the document behind a snapshot on local storage; on other
   stores a snapshot is used only while ``pypi.index_ttl`` says it is young, or when the
   caller says when the request ``arrived`` and the check that validated the snapshot
   STARTED after that (so it saw every write acknowledged before the request: DESIGN.md's
   read-your-writes); else the answer is None. An adapter may run that check itself, one
   round for many requests (``Basis.revalidation``; the ASGI adapter's ``_rounds.py``),
   and ask again. Logging the access line and counting the request happen as in ``handle``.
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
from collections.abc import Callable, Hashable, Mapping

import attrs

from ..errors import InvalidProjectName, RegistryError
from ..names import normalize
from ..registry.facade import Registry
from ..registry.results import UpstreamRedirect
from . import health, pypi_json, simple
from .finish import finish, shape
from .messages import Request, Response
from .routing import answer, path_pattern

__all__ = [
    "FAST_ROUTES",
    "REQUEST_ONLY",
    "Basis",
    "FastRoute",
    "Revalidation",
    "cached_answer",
    "fast_route",
    "handle_cached",
]

_SLASH = "{slash:/?}"

CachedHandler = Callable[
    [Registry, Request, Mapping[str, str], "float | None"], "Response | UpstreamRedirect | None"
]


@attrs.frozen
class Revalidation:
    """One conditional request to the store that revalidates a snapshot (``check``), and
    the ``key`` that concurrent checks of that same snapshot share."""

    key: Hashable
    check: Callable[[], object]


@attrs.frozen
class Basis:
    """What the answers of a route rest on (``prepared.py``): the snapshot (a project's, the
    project list's; ``REQUEST_ONLY`` for a redirect that depends on the request alone) as
    last read (no I/O at all), and if still current for a request that arrived then
    (``handle_cached``'s rule); on a remote store, how to revalidate it."""

    as_read: Callable[[], object]
    current: Callable[[float | None], object]
    revalidation: Revalidation | None = None
    # On local storage: the snapshot's document version by one ``stat`` (``Catalog.probe``),
    # so a kept answer is checked without the catalog's lookup; same rule, fewer steps.
    version: Callable[[], str | None] | None = None


RestsOn = Callable[[Registry, Mapping[str, str]], "Basis | None"]  # None: answers never kept
REQUEST_ONLY = object()


def _request_only_now(arrived: float | None = None) -> object:
    return REQUEST_ONLY


_REQUEST_ONLY_BASIS = Basis(_request_only_now, _request_only_now)


def _request_only(registry: Registry, params: Mapping[str, str]) -> Basis:
    return _REQUEST_ONLY_BASIS


def _never(registry: Registry, params: Mapping[str, str]) -> None:
    return None


def _project_list(registry: Registry, params: Mapping[str, str]) -> Basis:
    catalog = registry.catalog
    check = Revalidation(("index",), catalog.index) if catalog.asks_store else None
    return Basis(catalog.peek_index, catalog.fresh_index, check, catalog.probe_index())


def _project(registry: Registry, name: str, canonical: bool) -> Basis | None:
    """The project's snapshot, or the request alone for a redirect to the canonical spelling."""
    try:
        project = normalize(name)
    except InvalidProjectName:
        return None  # a 404: never kept
    if project != name or not canonical:
        return _REQUEST_ONLY_BASIS
    catalog = registry.catalog
    check = None
    if catalog.asks_store:
        check = Revalidation(("project", project), functools.partial(catalog.reload, project))
    return Basis(
        functools.partial(catalog.peek, project),
        functools.partial(catalog.fresh_project, project),
        check,
        catalog.probe_project(project),
    )


def _simple_project(registry: Registry, params: Mapping[str, str]) -> Basis | None:
    return _project(registry, params["project"], bool(params["slash"]))


def _json_project(registry: Registry, params: Mapping[str, str]) -> Basis | None:
    return _project(registry, params["project"], True)


def _simple_slash(
    registry: Registry, request: Request, params: Mapping[str, str], arrived: float | None
) -> Response:
    return simple.simple_slash(registry, request, params)


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
    FastRoute(path_pattern("/simple"), _simple_slash, _request_only),
    FastRoute(path_pattern("/simple/"), simple.cached_index_page, _project_list),
    FastRoute(path_pattern("/simple/{project}" + _SLASH), simple.cached_project_page, _simple_project, True),
    FastRoute(path_pattern("/pypi/{project}/json" + _SLASH), pypi_json.cached_json_api, _json_project),
    FastRoute(
        path_pattern("/pypi/{project}/{version}/json" + _SLASH), pypi_json.cached_json_api, _json_project
    ),
    FastRoute(path_pattern("/health"), health.cached_health, _never),
)
_METHODS = frozenset(("GET", "HEAD"))


def handle_cached(registry: Registry, request: Request, *, arrived: float | None = None) -> Response | None:
    """``handle``'s answer when it needs no I/O (see the module invariants), else None.

    ``arrived``: when the request arrived, on the catalog's clock (``Catalog.now``); a
    snapshot validated by a check that started later is current for it. None: unknown."""
    started = time.perf_counter()
    found = _cached(registry, request, arrived)
    return None if found is None else finish(registry, found[0], found[1], started)


def cached_answer(registry: Registry, request: Request, *, arrived: float | None = None) -> Response | None:
    """``handle_cached``'s answer, neither logged nor counted: one to keep, not to send now."""
    found = _cached(registry, request, arrived)
    return None if found is None else shape(registry, found[0], found[1])


def _cached(registry: Registry, request: Request, arrived: float | None) -> tuple[Request, Response] | None:
    """The request (with the identity its cached credentials give) and its answer before
    ``finish``, when that needs no I/O; else None."""
    if request.method.upper() not in _METHODS:
        return None  # (cross_site_refusal never refuses GET or HEAD)
    if request.identity is None:
        identity = registry.permissions.cached_identity(request.header("authorization"))
        if identity is None:
            return None
        request = attrs.evolve(request, identity=identity)
    try:
        response = _answer(registry, request, arrived)
    except RegistryError:
        return None  # an error: ``handle`` answers it (and reads the body it may carry)
    if response is None or response.status >= 400:
        return None
    return request, response


def fast_route(path: str) -> tuple[FastRoute, Mapping[str, str]] | None:
    """The fast path's route of ``path`` and its parameters, if it has one."""
    for route in FAST_ROUTES:
        match = route.pattern.fullmatch(path or "/")
        if match is not None:
            return route, match.groupdict()
    return None


def _answer(registry: Registry, request: Request, arrived: float | None) -> Response | None:
    found = fast_route(request.path)
    if found is None:
        return None
    route, params = found
    result = route.handler(registry, request, params, arrived)
    return None if result is None else answer(result)
