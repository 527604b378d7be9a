"""Which kind of work a request is, told before it runs: an adapter gives each kind its
own bounded pool of threads, so slow uploads and a hanging upstream never take the
threads that answer warm pages.

Invariant: ``request_lane(registry, request)`` does no I/O and takes no lock that I/O
holds (see ``registry.upstream_waits``), so it may run on an event loop; it answers None
when telling needs a storage read, which ``look=True`` does (never the network).
"""

from __future__ import annotations

import enum
import re

from ..names import NormalizedName, is_valid_project_name, normalize
from ..registry.facade import Registry
from ..registry.upstream_waits import may_wait_on_upstream
from .messages import Request

__all__ = ["Lane", "request_lane"]


class Lane(enum.Enum):
    """A kind of request, by what it may wait on."""

    UPLOAD = "upload"  # the upload form: as slow as its sender
    UPSTREAM = "upstream"  # may wait on the upstream index (at most its timeout)
    READ = "read"  # everything else: storage and CPU only


_UPLOAD_PATHS = frozenset(("/", "/simple", "/simple/", "/legacy", "/legacy/"))
# The routes (routes.py) whose answer may come from the upstream: pages, and files.
_PAGE = re.compile(r"/(?:simple|project)/(?P<project>[^/]+)/?|/pypi/(?P<json>[^/]+)/(?:[^/]+/)?json/?")
_FILE = re.compile(
    r"/files/(?P<project>[^/]+)/[^/]+/(?P<file>[^/]+)|/api/package/(?P<api>[^/]+)/(?P<target>[^/]+)/?"
)


def request_lane(registry: Registry, request: Request, *, look: bool = False) -> Lane | None:
    """The lane ``request`` belongs in; None when ``look`` is false and telling needs a
    storage read."""
    method = request.method.upper()
    if method == "POST":
        return Lane.UPLOAD if request.path in _UPLOAD_PATHS else Lane.READ
    if method not in ("GET", "HEAD") or registry.mirror is None:
        return Lane.READ
    target = _target(request.path)
    if target is None:
        return Lane.READ
    project, filename = target
    waits = may_wait_on_upstream(
        registry.catalog, registry.mirror, registry.fallback, project, filename, look=look
    )
    if waits is None:
        return None
    return Lane.UPSTREAM if waits else Lane.READ


def _target(path: str) -> tuple[NormalizedName, str | None] | None:
    """The (normalized project, filename or None) a page or file path names; None for
    any other path, or a name no handler would look up (it answers without waiting)."""
    name: str
    filename: str | None
    if (page := _PAGE.fullmatch(path)) is not None:
        name, filename = page["project"] or page["json"], None
    elif (file := _FILE.fullmatch(path)) is not None:
        name, filename = file["project"] or file["api"], file["file"] or file["target"]
    else:
        return None
    return (normalize(name), filename) if is_valid_project_name(name) else None
