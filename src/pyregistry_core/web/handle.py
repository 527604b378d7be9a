"""The sans-IO HTTP layer: frozen request/response values and one ``handle`` function.

Adapters translate their server's request into ``Request`` and ``Response`` back; this
module routes, negotiates and owns the one table from domain errors to status codes.
Bodies are data: bytes, or a ``FileBody`` naming stored bytes (with a range).
"""

from __future__ import annotations

import logging
import time
from urllib.parse import quote

import attrs
from werkzeug.datastructures import ETags
from werkzeug.http import parse_etags, parse_range_header, quote_etag

from ..acl import Identity
from ..errors import (
    AuthenticationRequired,
    FileConflict,
    FileNotFoundInProject,
    InvalidProjectName,
    InvalidUpload,
    PermissionDenied,
    ProjectNotFound,
    RegistryError,
    StorageUnavailable,
    UploadTooLarge,
)
from ..names import normalize
from ..negotiate import NotAcceptable, select_format
from ..records import FileRecord
from ..registry.facade import Page, Registry, UpstreamRedirect
from ..upload import UnsupportedAction, read_upload_form
from ..upstream.client import UpstreamError
from .browse import browse
from .management import management_api
from .messages import FileBody, Request, Response, json_response, redirect_response, text_response
from .pypi_json import json_api

__all__ = ["FileBody", "Request", "Response", "handle"]

log = logging.getLogger(__name__)
access_log = logging.getLogger("pyregistry.access")


def _error_response(request: Request, registry: Registry, error: RegistryError) -> Response:
    """The one table from domain errors to HTTP statuses."""
    if isinstance(error, UpstreamRedirect):
        return redirect_response(302, error.location)
    if isinstance(error, UpstreamError):
        log.warning("upstream failure: %s", error.message)
        return text_response(502, f"The upstream index failed: {error.message}")
    if isinstance(error, AuthenticationRequired):
        realm = registry.settings.realm.replace('"', "")
        return text_response(401, error.message, ("WWW-Authenticate", f'Basic realm="{realm}"'))
    if isinstance(error, PermissionDenied):
        return text_response(403, error.message)
    if isinstance(error, (ProjectNotFound, FileNotFoundInProject)):
        return text_response(404, error.message)
    if isinstance(error, NotAcceptable):
        return text_response(406, error.message, ("Vary", "Accept"))
    if isinstance(error, UploadTooLarge):
        return text_response(413, error.message, reason=_reason(error.message))
    if isinstance(error, UnsupportedAction):
        return text_response(410, error.message, reason=_reason(error.message))
    if isinstance(error, (InvalidUpload, FileConflict)):
        return text_response(400, error.message, reason=_reason(error.message))
    if isinstance(error, InvalidProjectName):
        return text_response(404, error.message)
    if isinstance(error, StorageUnavailable):
        log.error("storage unavailable: %s", error.message)
        return text_response(503, "Storage is temporarily unavailable; try again.", ("Retry-After", "5"))
    return text_response(400, error.message)


def _reason(message: str) -> str:
    """PyPI puts upload errors in the reason phrase too; keep it latin-1 and one line."""
    first = message.splitlines()[0] if message else ""
    return "".join(c if 32 <= ord(c) < 127 else "?" for c in first)[:400]


def _who(request: Request) -> Identity:
    """The caller, once ``handle`` has resolved it."""
    return request.identity if request.identity is not None else Identity()


def handle(registry: Registry, request: Request) -> Response:
    """Answer one request; client mistakes become 4xx, never 500."""
    started = time.perf_counter()
    try:
        if request.identity is None:
            request = attrs.evolve(request, identity=registry.authenticate(request.header("authorization")))
        response = _route(registry, request)
    except RegistryError as error:
        response = _error_response(request, registry, error)
    response = _caching_by_caller(registry, request, response)
    if access_log.isEnabledFor(logging.INFO):
        access_log.info(
            '%s "%s %s" %s %.1fms',
            _who(request).user or "-",
            request.method,
            request.path,
            response.status,
            (time.perf_counter() - started) * 1000,
        )
    registry.metrics.count_request(_route_name(request.path), response.status)
    return response


def _caching_by_caller(registry: Registry, request: Request, response: Response) -> Response:
    """What a response shows may depend on who asked: say so to every cache.

    ``Vary: Authorization`` when the rules can differ between callers; ``private``
    whenever the request carried credentials, so no shared cache hands one caller's
    answer to another.
    """
    varies = registry.policy_depends_on_identity()
    credentials = request.header("authorization") is not None or _who(request).user is not None
    if not varies and not credentials:
        return response
    headers = [(k, v) for k, v in response.headers if k.lower() not in ("vary", "cache-control")]
    vary = response.header("vary")
    if varies:
        vary = (
            f"{vary}, Authorization"
            if vary and "authorization" not in vary.lower()
            else vary or "Authorization"
        )
    if vary:
        headers.append(("Vary", vary))
    cache = response.header("cache-control")
    if credentials and not (cache and ("private" in cache or "no-store" in cache)):
        cache = (
            cache.replace("public", "private")
            if cache and "public" in cache
            else (f"{cache}, private" if cache else "private")
        )
    if cache:
        headers.append(("Cache-Control", cache))
    return attrs.evolve(response, headers=tuple(headers))


def _route_name(path: str) -> str:
    """A low-cardinality label for metrics."""
    first = path.split("/", 2)[1] if path.count("/") >= 1 else ""
    return first if first in ("simple", "files", "pypi", "api", "health", "metrics", "project") else "other"


def _route(registry: Registry, request: Request) -> Response:
    path = request.path or "/"
    method = request.method.upper()
    parts = path.split("/")  # parts[0] is "" because path starts with "/"
    if len(parts) > 1 and parts[1] == "api":
        return management_api(
            registry,
            request,
            _who(request),
            parts[2:],
            lambda project, filename: _file(registry, request, project, None, filename),
        )
    if method == "POST":
        if path in ("/", "/simple", "/simple/", "/legacy", "/legacy/"):
            return _upload(registry, request)
        return text_response(405, "Method not allowed.", ("Allow", "GET, HEAD"))
    if method not in ("GET", "HEAD"):
        allow = "GET, HEAD, POST" if path in ("/", "/simple/", "/legacy/") else "GET, HEAD"
        return text_response(405, "Method not allowed.", ("Allow", allow))
    if path == "/health":
        return _health(registry)
    if path == "/metrics" and registry.metrics.enabled:
        body, content_type = registry.metrics.exposition()
        return Response(200, (("Content-Type", content_type), ("Content-Length", str(len(body)))), body)
    if parts[1] == "simple":
        return _simple(registry, request, parts[2:])
    if parts[1] == "files" and len(parts) == 5:
        return _file(registry, request, parts[2], parts[3], parts[4])
    if parts[1] == "pypi" and len(parts) >= 4:
        return json_api(registry, request, parts[2:])
    if path == "/" or parts[1] == "project":
        page = browse(registry, request, _who(request), parts[1:])
        if page is not None:
            return page
    return text_response(404, "Not found.")


def _with_head(request: Request, response: Response) -> Response:
    if request.method.upper() == "HEAD" and isinstance(response.body, bytes):
        return attrs.evolve(response, body=b"")
    return response


def _page_response(registry: Registry, request: Request, page: Page, content_type: str) -> Response:
    cache = f"max-age={registry.settings.simple_max_age}, must-revalidate"
    headers = (
        ("Content-Type", content_type),
        ("Vary", "Accept"),
        ("ETag", page.etag),
        ("Cache-Control", cache),
    )
    inm = request.header("if-none-match")
    if inm and _etag_matches(inm, page.etag):
        return Response(304, headers)
    return _with_head(request, Response(200, (*headers, ("Content-Length", str(len(page.body)))), page.body))


def _etag_matches(header: str, etag: str) -> bool:
    tags: ETags = parse_etags(header)
    return tags.star_tag or tags.contains_weak(etag.strip('"'))


def _simple(registry: Registry, request: Request, rest: list[str]) -> Response:
    if not rest:  # "/simple"
        return redirect_response(301, f"{request.script_root}/simple/")
    fmt = select_format(request.header("accept"), request.query.get("format"))
    if rest == [""]:
        page = registry.index_page(_who(request), fmt)
        return _page_response(registry, request, page, fmt.content_type)
    name = rest[0]
    try:
        project = normalize(name)
    except InvalidProjectName:
        return text_response(404, "Not found.")
    if len(rest) == 1 or rest[1:] != [""] or name != project:
        if len(rest) > 2 or (len(rest) == 2 and rest[1] != ""):
            return text_response(404, "Not found.")
        query = f"?format={quote(request.query['format'], safe='')}" if "format" in request.query else ""
        return redirect_response(301, f"{request.script_root}/simple/{project}/{query}")
    page = registry.project_page(_who(request), project, fmt)
    return _page_response(registry, request, page, fmt.content_type)


def _file(
    registry: Registry, request: Request, project_part: str, sha256: str | None, filename: str
) -> Response:
    try:
        project = normalize(project_part)
    except InvalidProjectName:
        return text_response(404, "Not found.")
    want_metadata = filename.endswith(".metadata")
    dist_name = filename[: -len(".metadata")] if want_metadata else filename
    if project_part != project:
        raise FileNotFoundInProject(project, filename)
    record = registry.find_file(_who(request), project, dist_name, sha256)
    if sha256 is not None and sha256 not in (record.sha256, "-"):
        raise FileNotFoundInProject(project, filename)
    if want_metadata:
        data = registry.read_metadata(record)
        headers = (
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(data))),
            ("ETag", quote_etag(record.metadata_sha256 or "")),
            ("Cache-Control", _file_cache_control(registry)),
        )
        if _etag_matches(request.header("if-none-match") or "", record.metadata_sha256 or ""):
            return Response(304, headers)
        return _with_head(request, Response(200, headers, data))
    return _download(registry, request, record)


def _file_cache_control(registry: Registry) -> str:
    # Files never change; handle() makes this private when credentials were sent.
    return f"public, max-age={registry.settings.package_max_age}, immutable"


def _download(registry: Registry, request: Request, record: FileRecord) -> Response:
    etag = quote_etag(record.sha256)
    base = (
        # Never a Content-Encoding: a .tar.gz is served as the bytes it is.
        ("Content-Type", "application/octet-stream"),
        ("Accept-Ranges", "bytes"),
        ("ETag", etag),
        ("Cache-Control", _file_cache_control(registry)),
    )
    inm = request.header("if-none-match")
    if inm and _etag_matches(inm, record.sha256):
        return Response(304, base)
    size = record.size if record.size is not None else 0  # stored files always know theirs
    start, length, status = 0, size, 200
    extra: tuple[tuple[str, str], ...] = ()
    range_header = request.header("range")
    if_range = request.header("if-range")
    if range_header and (not if_range or if_range.strip() == etag):
        parsed = parse_range_header(range_header)
        # RFC 9110 §14.2: an unknown unit or an unparseable Range is ignored; several
        # ranges are allowed to be answered with the whole file.
        usable = parsed is not None and parsed.units == "bytes" and len(parsed.ranges) == 1
        bounds = parsed.range_for_length(size) if parsed is not None and usable else None
        if not usable:
            pass
        elif bounds is None:
            return Response(416, (*base, ("Content-Range", f"bytes */{size}"), ("Content-Length", "0")))
        else:
            start, stop = bounds
            length, status = stop - start, 206
            extra = (("Content-Range", f"bytes {start}-{stop - 1}/{size}"),)
    headers = (*base, *extra, ("Content-Length", str(length)))
    if request.method.upper() == "HEAD":
        return Response(status, headers)
    key = record.blob_key
    storage = registry.storage
    body = FileBody(key, start, length, storage.local_path(key), lambda: storage.open_blob(key))
    return Response(status, headers, body)


def _upload(registry: Registry, request: Request) -> Response:
    if request.body is None:
        raise InvalidUpload("Upload payload does not have a file.")
    # Refuse before reading a byte when the caller may upload to no project at all.
    registry.require_upload_somewhere(_who(request))
    length_header = request.header("content-length")
    try:
        length = int(length_header) if length_header is not None else None
    except ValueError as exc:
        raise InvalidUpload("Invalid Content-Length.") from exc
    try:
        with registry.storage.staging_file() as staged:
            form = read_upload_form(
                request.body,
                request.header("content-type"),
                length,
                staged,
                registry.upload_limits(),
                request.query,
            )
            result = registry.upload(_who(request), form, staged)
    except RegistryError as error:
        registry.metrics.count_upload("rejected", type(error).__name__)
        raise
    except OSError as error:  # the scratch file: a full disk is the server's trouble, not the client's
        registry.metrics.count_upload("rejected", "StorageUnavailable")
        raise StorageUnavailable(f"cannot stage the upload: {error}") from error
    registry.metrics.count_upload("stored" if result.created else "identical")
    log.info(
        "upload %s %s by %s",
        result.record.filename,
        "stored" if result.created else "identical, kept",
        _who(request).user or "anonymous",
    )
    return text_response(200, "OK" if result.created else "OK (identical file already stored)")


def _health(registry: Registry) -> Response:
    """200 unless storage fails; the upstream's state is reported, never fatal (a proxy
    must stay in the load balancer while the upstream is down)."""
    state: dict[str, object] = {"status": "ok", "storage": "ok", "upstream": registry.upstream_state()}
    status = 200
    try:
        registry.storage.probe()
    except (RegistryError, OSError) as error:
        state.update(status="error", storage=str(error))
        status = 503
    return json_response(status, state, ("Cache-Control", "no-store"))
