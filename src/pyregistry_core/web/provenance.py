"""PEP 740 provenance objects: ``/files/<project>/<sha256>/<filename>.provenance``.

Invariants:
1. Authorize before revealing: the object is looked up through the same checks as its
   file (read permission, fallback rules, cooldown, cache rights), so a private
   project's provenance is exactly as private as its files.
2. The ETag is the object's sha256 (304 on ``If-None-Match``); HEAD gets the headers only.
"""

from __future__ import annotations

from collections.abc import Mapping

from werkzeug.http import quote_etag

from ..errors import FileNotFoundInProject, InvalidProjectName
from ..names import normalize
from ..registry.facade import Registry
from ..registry.upstream_provenance import PROVENANCE_SUFFIX
from .caching import etag_matches
from .files import file_cache_control
from .messages import Request, Response, not_found

__all__ = ["provenance_file"]


def provenance_file(registry: Registry, request: Request, params: Mapping[str, str]) -> Response:
    """The provenance object of one file, as the upstream (or nobody) signed it."""
    project_part, requested = params["project"], params["filename"]
    try:
        project = normalize(project_part)
    except InvalidProjectName:
        return not_found()
    if project_part != project:
        raise FileNotFoundInProject(project, requested)
    filename = requested[: -len(PROVENANCE_SUFFIX)]
    found = registry.find_provenance(request.caller, project, filename, params["sha256"])
    headers = (
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(found.data))),
        ("ETag", quote_etag(found.sha256)),
        ("Cache-Control", file_cache_control(registry)),
        ("X-Content-Type-Options", "nosniff"),
    )
    if etag_matches(request.header("if-none-match"), found.sha256):
        return Response(304, headers)
    return Response(200, headers, found.data)
