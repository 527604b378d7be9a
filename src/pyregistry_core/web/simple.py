"""The Simple API pages (PEP 503/691): ``/simple/`` and ``/simple/<project>/``.

A page is rendered once per format and source and shared by every reader who sees the
same thing; it carries a strong ETag, so a revalidation with ``If-None-Match`` is a 304.
It is sent compressed when the client accepts it (``encoded_pages.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, overload
from urllib.parse import quote

from ..errors import InvalidProjectName
from ..names import NormalizedName, normalize
from ..negotiate import select_format
from ..registry.facade import Registry
from ..registry.results import Page, UpstreamRedirect
from .encoded_pages import page_response
from .messages import Request, Response, not_found, redirect_response

__all__ = [
    "cached_index_page",
    "cached_project_page",
    "canonical_project",
    "index_page",
    "project_page",
    "simple_slash",
]


def simple_slash(registry: Registry, request: Request, params: Mapping[str, str]) -> Response:
    """``/simple`` → ``/simple/``."""
    return redirect_response(301, f"{request.script_root}/simple/")


def index_page(registry: Registry, request: Request, params: Mapping[str, str]) -> Response:
    """``/simple/``: the projects the caller may read."""
    fmt = select_format(request.header("accept"), request.query.get("format"))
    page = registry.index_page(request.caller, fmt)
    return _page_response(registry, request, page, fmt.content_type)


def project_page(
    registry: Registry, request: Request, params: Mapping[str, str]
) -> Response | UpstreamRedirect:
    """``/simple/<project>/``; other spellings (and no trailing slash) redirect to it."""
    fmt = select_format(request.header("accept"), request.query.get("format"))
    project = canonical_project(request, params)
    if isinstance(project, Response):
        return project
    page = registry.project_page(request.caller, project, fmt)
    if isinstance(page, UpstreamRedirect):
        return page
    return _page_response(registry, request, page, fmt.content_type)


def cached_index_page(
    registry: Registry, request: Request, params: Mapping[str, str], arrived: float | None = None
) -> Response | None:
    """``index_page``'s answer from a current snapshot without I/O, else None (fast path)."""
    fmt = select_format(request.header("accept"), request.query.get("format"))
    page = registry.pages.cached_index_page(request.caller, fmt, arrived)
    return None if page is None else _page_response(registry, request, page, fmt.content_type, compress=False)


def cached_project_page(
    registry: Registry, request: Request, params: Mapping[str, str], arrived: float | None = None
) -> Response | UpstreamRedirect | None:
    """``project_page``'s answer from a current snapshot without I/O, else None (fast path)."""
    fmt = select_format(request.header("accept"), request.query.get("format"))
    project = canonical_project(request, params)
    if isinstance(project, Response):
        return project
    page = registry.pages.cached_project_page(request.caller, project, fmt, arrived)
    if page is None or isinstance(page, UpstreamRedirect):
        return page
    return _page_response(registry, request, page, fmt.content_type, compress=False)


def canonical_project(request: Request, params: Mapping[str, str]) -> NormalizedName | Response:
    """The project a ``/simple/<name>/`` path names, or the 404 or the redirect to its
    canonical spelling (normalized, with the trailing slash) that answers it instead."""
    name = params["project"]
    try:
        project = normalize(name)
    except InvalidProjectName:
        return not_found()
    if name != project or not params["slash"]:
        query = f"?format={quote(request.query['format'], safe='')}" if "format" in request.query else ""
        return redirect_response(301, f"{request.script_root}/simple/{project}/{query}")
    return project


# A Simple page is data (links), never an app: no script, style or frame, no sniffing.
SIMPLE_SECURITY_HEADERS = (
    ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"),
    ("X-Content-Type-Options", "nosniff"),
)


@overload
def _page_response(
    registry: Registry, request: Request, page: Page, content_type: str, *, compress: Literal[True] = True
) -> Response: ...
@overload
def _page_response(
    registry: Registry, request: Request, page: Page, content_type: str, *, compress: bool
) -> Response | None: ...
def _page_response(
    registry: Registry, request: Request, page: Page, content_type: str, *, compress: bool = True
) -> Response | None:
    """The page's 200 or 304; None only when ``compress`` is False and the coding the client
    prefers is not compressed yet (the fast path leaves that to ``handle``)."""
    cache = ("Cache-Control", f"max-age={registry.settings.simple_max_age}, must-revalidate")
    return page_response(request, page, content_type, cache, *SIMPLE_SECURITY_HEADERS, compress=compress)
