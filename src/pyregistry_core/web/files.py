"""Downloads: ``/files/<project>/<sha256>/<filename>`` and its PEP 658 ``.metadata``.

Files never change, so they carry their sha256 as ETag and an ``immutable``
Cache-Control; one byte range is honoured (RFC 9110 §14), several get the whole file.
"""

from __future__ import annotations

from collections.abc import Mapping

from werkzeug.http import parse_range_header, quote_etag

from ..errors import FileNotFoundInProject, InvalidProjectName
from ..names import normalize
from ..records import FileRecord
from ..registry.facade import Registry
from ..registry.results import UpstreamRedirect
from ..registry.upstream_metadata import CoreMetadataFile
from .caching import etag_matches
from .messages import FileBody, Request, Response, not_found

__all__ = ["file_cache_control", "file_response", "stored_file"]


def stored_file(
    registry: Registry, request: Request, params: Mapping[str, str]
) -> Response | UpstreamRedirect:
    """``/files/<project>/<sha256>/<filename>``: the bytes, or ``.metadata``."""
    return file_response(registry, request, params["project"], params["sha256"], params["filename"])


def file_response(
    registry: Registry, request: Request, project_part: str, sha256: str | None, filename: str
) -> Response | UpstreamRedirect:
    """A file of the project spelled ``project_part`` (its sha256 checked when given)."""
    try:
        project = normalize(project_part)
    except InvalidProjectName:
        return not_found()
    want_metadata = filename.endswith(".metadata")
    dist_name = filename[: -len(".metadata")] if want_metadata else filename
    if project_part != project:
        raise FileNotFoundInProject(project, filename)
    if want_metadata:
        metadata = registry.find_metadata(request.caller, project, dist_name, sha256)
        if isinstance(metadata, UpstreamRedirect):
            return metadata
        return _metadata(registry, request, metadata)
    record = registry.find_file(request.caller, project, dist_name, sha256)
    if isinstance(record, UpstreamRedirect):
        return record
    if sha256 is not None and sha256 not in (record.sha256, "-"):
        raise FileNotFoundInProject(project, filename)
    return _download(registry, request, record)


def _metadata(registry: Registry, request: Request, metadata: CoreMetadataFile) -> Response:
    headers = (
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(metadata.data))),
        ("ETag", quote_etag(metadata.sha256)),
        ("Cache-Control", file_cache_control(registry)),
        ("X-Content-Type-Options", "nosniff"),
    )
    if etag_matches(request.header("if-none-match"), metadata.sha256):
        return Response(304, headers)
    return Response(200, headers, metadata.data)


def file_cache_control(registry: Registry) -> str:
    """Cache-Control of a file and what is stored beside it (they never change)."""
    # handle() makes this private when credentials were sent.
    return f"public, max-age={registry.settings.package_max_age}, immutable"


def _download(registry: Registry, request: Request, record: FileRecord) -> Response:
    etag = quote_etag(record.sha256)
    base = (
        # Never a Content-Encoding: a .tar.gz is served as the bytes it is.
        ("Content-Type", "application/octet-stream"),
        ("Accept-Ranges", "bytes"),
        ("ETag", etag),
        ("Cache-Control", file_cache_control(registry)),
    )
    if etag_matches(request.header("if-none-match"), record.sha256):
        return Response(304, base)
    size = record.size if record.size is not None else 0  # stored files always know theirs
    start, length, status = 0, size, 200
    extra: tuple[tuple[str, str], ...] = ()
    bounds = _requested_range(request, etag, size)
    if isinstance(bounds, str):  # "unsatisfiable"
        return Response(416, (*base, ("Content-Range", f"bytes */{size}"), ("Content-Length", "0")))
    if bounds is not None:
        start, stop = bounds
        length, status = stop - start, 206
        extra = (("Content-Range", f"bytes {start}-{stop - 1}/{size}"),)
    headers = (*base, *extra, ("Content-Length", str(length)))
    key = record.blob_key
    storage = registry.storage
    body = FileBody(key, start, length, storage.local_path(key), lambda: storage.open_blob(key))
    return Response(status, headers, body)


def _requested_range(request: Request, etag: str, size: int) -> tuple[int, int] | str | None:
    """The one byte range to send, "unsatisfiable", or None for the whole file."""
    range_header = request.header("range")
    if_range = request.header("if-range")
    if not range_header or (if_range and if_range.strip() != etag):
        return None
    parsed = parse_range_header(range_header)
    # RFC 9110 §14.2: an unknown unit or an unparseable Range is ignored; several
    # ranges are allowed to be answered with the whole file.
    if parsed is None or parsed.units != "bytes" or len(parsed.ranges) != 1:
        return None
    bounds = parsed.range_for_length(size)
    return "unsatisfiable" if bounds is None else bounds
