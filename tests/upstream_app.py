"""A local upstream index on loopback that records every request and misbehaves on demand.

``UpstreamIndex`` serves a static PEP 503 HTML / PEP 691 JSON tree of real wheels and
sdists (built in memory, wheels by ``distfiles.wheel_bytes``: proper ``.dist-info`` METADATA, WHEEL and
RECORD) with hashes, ``requires-python``, yanked, size, upload-time and core-metadata,
plus each wheel's ``.metadata`` file. Pages live at ``/simple/<project>/``, files at
``/files/<project>/<filename>``.

Every request is recorded (method, path, headers), so a test can assert "no request
ever named project X" (``mentions``) or "file Y was downloaded once" (``downloads``).
``faults`` holds the knobs of one test: slow answers, forced statuses, truncated or
corrupted files, redirect loops, redirects elsewhere, endless pages, gzip labels on
sdists, HTML-only answers; ``stop()`` takes the index down (``start()`` brings it back
on the same port). The server binds 127.0.0.1 only and every loop is bounded.
"""

from __future__ import annotations

import base64
import contextlib
import gc
import gzip
import hashlib
import html
import io
import json
import re
import socket
import tarfile
import threading
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import distfiles
from distfiles import wheel_bytes
from packaging.utils import canonicalize_name

__all__ = [
    "JSON_TYPE",
    "Faults",
    "HostedFile",
    "RecordedRequest",
    "UpstreamIndex",
    "collect_unclosed_sockets",
    "provenance_object",
    "sdist_file",
    "wheel_file",
]

HOST = "127.0.0.1"
JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_TYPE = "text/html"
_TAR_MTIME = 1_704_067_200  # 2024-01-01T00:00:00Z: archives are reproducible
_CHUNK = 64 * 1024
_TEXT = (("Content-Type", "text/plain"),)
_SEPARATORS = re.compile(r"[-_.]+")


# -- distributions ---------------------------------------------------------------------


def _dist_name(project: str) -> str:
    """The filename form of a project name (PEP 427/625: normalized, ``_`` separators)."""
    return canonicalize_name(project).replace("-", "_")


def core_metadata(
    name: str,
    version: str,
    *,
    requires_python: str | None = None,
    dependencies: Sequence[str] = (),
    metadata_version: str = "2.1",
) -> bytes:
    """A METADATA / PKG-INFO document, its summary naming the test upstream."""
    return distfiles.core_metadata(
        name,
        version,
        metadata_version=metadata_version,
        requires_python=requires_python,
        summary=f"{name} {version}, served by the test upstream.",
        dependencies=dependencies,
        description="",
    )


@dataclass
class HostedFile:
    """One file the upstream lists and serves."""

    project: str
    version: str
    filename: str
    data: bytes
    metadata: bytes | None = None  # wheels only: served as ``<file>.metadata`` (PEP 658)
    requires_python: str | None = None
    yanked: bool | str = False  # True, or the reason
    upload_time: str = "2024-01-02T03:04:05.123456Z"
    # PEP 740: a provenance object, served at ``<file URL>.provenance`` and advertised
    # (absolute, as the PEP wants) once ``provenance_url`` is set.
    provenance: bytes | None = None
    provenance_url: str | None = None

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the file."""
        return hashlib.sha256(self.data).hexdigest()

    @property
    def size(self) -> int:
        """Length in bytes."""
        return len(self.data)

    @property
    def metadata_sha256(self) -> str | None:
        """Hex SHA-256 of the ``.metadata`` file, when there is one."""
        return hashlib.sha256(self.metadata).hexdigest() if self.metadata is not None else None

    @property
    def path(self) -> str:
        """Where the upstream serves the file."""
        return f"/files/{canonicalize_name(self.project)}/{self.filename}"


def wheel_file(
    name: str,
    version: str,
    *,
    requires_python: str | None = None,
    dependencies: Sequence[str] = (),
) -> HostedFile:
    """A pure-Python wheel whose module reports ``__version__`` (installable by pip/uv)."""
    module = _dist_name(name)
    metadata = core_metadata(name, version, requires_python=requires_python, dependencies=dependencies)
    source = f"NAME = {name!r}\n__version__ = {version!r}\n".encode()
    data = wheel_bytes(name, version, metadata=metadata, module=source, generator="upstream-app")
    return HostedFile(
        project=name,
        version=version,
        filename=f"{module}-{version}-py3-none-any.whl",
        data=data,
        metadata=metadata,
        requires_python=requires_python,
    )


def sdist_file(name: str, version: str, *, requires_python: str | None = None) -> HostedFile:
    """A PEP 625 sdist (``<name>-<version>.tar.gz`` with PKG-INFO and pyproject.toml)."""
    top = f"{_dist_name(name)}-{version}"
    pkg_info = core_metadata(name, version, requires_python=requires_python, metadata_version="2.2")
    pyproject = (
        f'[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n'
        f'[project]\nname = "{name}"\nversion = "{version}"\n'
    ).encode()
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for path, data in ((f"{top}/PKG-INFO", pkg_info), (f"{top}/pyproject.toml", pyproject)):
            info = tarfile.TarInfo(path)
            info.size, info.mtime = len(data), _TAR_MTIME
            archive.addfile(info, io.BytesIO(data))
    return HostedFile(
        project=name,
        version=version,
        filename=f"{top}.tar.gz",
        data=gzip.compress(raw.getvalue(), mtime=0),
        requires_python=requires_python,
    )


def provenance_object(filename: str, sha256: str, **changes: Any) -> dict[str, Any]:
    """A PEP 740 provenance object (the shape pypi-attestations accepts) with one
    attestation naming ``filename`` and ``sha256``; the signature is not a real one.
    ``changes`` replaces top-level keys; ``statement`` / ``attestation`` update those."""
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": filename, "digest": {"sha256": sha256}}],
        "predicateType": "https://docs.pypi.org/attestations/publish/v1",
        "predicate": None,
        **changes.pop("statement", {}),
    }
    entry = {
        "logIndex": "1",
        "logId": {"keyId": "a2V5"},
        "kindVersion": {"kind": "dsse", "version": "0.0.1"},
        "integratedTime": "1704067200",
    }
    attestation = {
        "version": 1,
        "verification_material": {"certificate": "Y2VydA==", "transparency_entries": [entry]},
        "envelope": {
            "statement": base64.b64encode(json.dumps(statement).encode()).decode(),
            "signature": "c2ln",
        },
        **changes.pop("attestation", {}),
    }
    publisher = {"kind": "GitHub", "repository": "ufo/core", "workflow": "release.yml"}
    return {
        "version": 1,
        "attestation_bundles": [{"publisher": publisher, "attestations": [attestation]}],
        **changes,
    }


def collect_unclosed_sockets() -> list[str]:
    """Run the garbage collector; the ResourceWarnings of sockets it had to close for us.

    Called when a test ends, so a socket a test left open is reported against that test
    (and not as an unraisable exception during some later one).
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        gc.collect()
    return [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]


# -- what the index records and how it misbehaves ------------------------------------------


@dataclass(frozen=True)
class RecordedRequest:
    """One request the upstream received (header names lowercase)."""

    method: str
    path: str
    headers: dict[str, str]


@dataclass
class Faults:
    """Per-test misbehaviour. ``scope`` says which requests the generic knobs hit."""

    scope: str = "all"  # "all", "page" (/simple/…) or "file" (/files/…)
    delay: float = 0.0  # seconds to wait before answering (interrupted by stop())
    status: int | None = None  # answer with this status and a short body
    redirect_loop: bool = False  # 302 to the same URL, forever (each answer closes its connection)
    redirect_to: str | None = None  # 302 to this absolute URL
    truncate: bool = False  # files: declare the full Content-Length, send half, close
    wrong_bytes: bool = False  # files: same length, different bytes
    gzip_sdists: bool = False  # files: label .tar.gz downloads Content-Encoding: gzip
    gzip_pages: bool = False  # pages: gzip them when the client accepts gzip
    html_only: bool = False  # pages: never JSON, whatever the Accept header
    huge_page: int | None = None  # pages: stream this many generated bytes instead
    huge_page_declared: bool = False  # … and declare that length up front
    redirects: dict[str, str] = field(default_factory=dict)  # exact request path → Location (302)
    raw_page: tuple[str, bytes] | None = None  # pages: this (Content-Type, body) instead
    gzip_page: bytes | None = None  # pages: this body labelled Content-Encoding: gzip instead
    slow_body: float = 0.0  # every answer: headers at once, the body this many seconds later
    keep_alive: bool = True  # False: every answer closes its connection

    def hits(self, kind: str) -> bool:
        """Whether the generic knobs apply to a request of ``kind``."""
        return self.scope in ("all", kind)


def _segment_mentions(segment: str, name: str) -> bool:
    folded = _SEPARATORS.sub("-", segment.lower())
    return folded == name or folded.startswith(name + "-")


class UpstreamIndex:
    """The upstream index: files, a threaded HTTP server on loopback, a request log."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._files: dict[str, list[HostedFile]] = {}
        self._log: list[RecordedRequest] = []
        self._server: _QuietServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self.port = 0
        self.faults = Faults()
        self.page_bytes_sent = 0  # of the last huge page

    # -- content ---------------------------------------------------------------------

    def add(
        self,
        name: str,
        version: str,
        *,
        requires_python: str | None = None,
        dependencies: Sequence[str] = (),
        kinds: Iterable[str] = ("wheel", "sdist"),
        yanked: bool | str = False,
        upload_time: str | None = None,
    ) -> list[HostedFile]:
        """Publish a release (a wheel and/or an sdist); returns its files."""
        files = []
        for kind in kinds:
            if kind == "wheel":
                hosted = wheel_file(name, version, requires_python=requires_python, dependencies=dependencies)
            elif kind == "sdist":
                hosted = sdist_file(name, version, requires_python=requires_python)
            else:
                raise ValueError(kind)
            hosted.yanked = yanked
            if upload_time is not None:
                hosted.upload_time = upload_time
            files.append(hosted)
        with self._lock:
            self._files.setdefault(canonicalize_name(name), []).extend(files)
        return files

    def file(self, filename: str) -> HostedFile:
        """The hosted file of that name."""
        with self._lock:
            for files in self._files.values():
                for hosted in files:
                    if hosted.filename == filename:
                        return hosted
        raise KeyError(filename)

    def yank(self, filename: str, reason: str = "") -> None:
        """Mark a file yanked (PEP 592), with an optional reason."""
        self.file(filename).yanked = reason or True

    # -- the request log -------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request so far, oldest first."""
        with self._lock:
            return list(self._log)

    def mentions(self, project: str) -> list[RecordedRequest]:
        """Requests whose path names ``project`` in any spelling (page, file or metadata)."""
        name = canonicalize_name(project)
        return [r for r in self.requests if any(_segment_mentions(s, name) for s in r.path.split("/"))]

    def page_requests(self, project: str) -> int:
        """How many times the project page was asked for."""
        prefix = f"/simple/{canonicalize_name(project)}/"
        return sum(1 for r in self.requests if urlsplit(r.path).path == prefix)

    def downloads(self, filename: str) -> int:
        """How many times the file itself (not its ``.metadata``) was asked for."""
        return sum(1 for r in self.requests if urlsplit(r.path).path.endswith("/" + filename))

    # -- lifecycle -------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The index root (``<url>/simple/<project>/`` are its pages)."""
        return f"http://{HOST}:{self.port}"

    def start(self) -> UpstreamIndex:
        """Serve (again, on the same port once it has one)."""
        if self._server is not None:
            return self
        self._stopping.clear()
        server = _QuietServer((HOST, self.port), self._handler_class())
        self._server = server
        self.port = int(server.server_address[1])
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Take the index down: the port refuses connections until ``start()``."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()  # wakes delayed answers and ends endless pages
        server.shutdown()
        server.server_close()
        server.drop_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> UpstreamIndex:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- serving ---------------------------------------------------------------------

    def _record(self, handler: BaseHTTPRequestHandler) -> None:
        headers = {k.lower(): v for k, v in handler.headers.items()}
        with self._lock:
            self._log.append(RecordedRequest(handler.command, handler.path, headers))

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        index = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                """Quiet: the request log is the record."""

            def do_GET(self) -> None:
                index._record(self)
                index._answer(self)

            def do_HEAD(self) -> None:
                index._record(self)
                self.send_response(405)
                self.send_header("Content-Length", "0")
                self.end_headers()

        return Handler

    def _send(
        self,
        handler: BaseHTTPRequestHandler,
        status: int,
        body: bytes,
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        handler.send_response(status)
        for key, value in headers:
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(body)))
        if handler.close_connection:
            handler.send_header("Connection", "close")
        handler.end_headers()
        if self.faults.slow_body:
            handler.wfile.flush()
            self._stopping.wait(self.faults.slow_body)
        handler.wfile.write(body)

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        if not self.faults.keep_alive:
            handler.close_connection = True
        parts = urlsplit(handler.path)
        segments = parts.path.split("/")
        kind = "page" if segments[1:2] == ["simple"] else "file" if segments[1:2] == ["files"] else "other"
        faults = self.faults
        if handler.path in faults.redirects:
            return self._send(handler, 302, b"", (("Location", faults.redirects[handler.path]),))
        if faults.hits(kind):
            if faults.delay and self._stopping.wait(faults.delay):
                handler.close_connection = True
                return None
            if faults.redirect_loop:
                handler.close_connection = True
                return self._send(handler, 302, b"", (("Location", handler.path),))
            if faults.redirect_to is not None:
                return self._send(handler, 302, b"", (("Location", faults.redirect_to),))
            if faults.status is not None:
                return self._send(handler, faults.status, b"the upstream is unwell\n", _TEXT)
        if kind == "page" and len(segments) == 4 and segments[3] == "":
            return self._page(handler, segments[2], parse_qs(parts.query))
        if kind == "file" and len(segments) == 4:
            return self._file(handler, segments[2], segments[3])
        return self._send(handler, 404, b"Not Found\n", _TEXT)

    def _page(self, handler: BaseHTTPRequestHandler, name: str, query: dict[str, list[str]]) -> None:
        faults = self.faults
        if faults.huge_page is not None:
            return self._huge_page(handler, faults.huge_page, faults.huge_page_declared)
        if faults.raw_page is not None:
            return self._send(handler, 200, faults.raw_page[1], (("Content-Type", faults.raw_page[0]),))
        if faults.gzip_page is not None:
            headers = (("Content-Type", f"{HTML_TYPE}; charset=utf-8"), ("Content-Encoding", "gzip"))
            return self._send(handler, 200, faults.gzip_page, headers)
        project = canonicalize_name(name)
        if project != name:
            return self._send(handler, 301, b"", (("Location", f"/simple/{project}/"),))
        with self._lock:
            files = list(self._files.get(project, ()))
        if not files:
            return self._send(handler, 404, b"Not Found\n", _TEXT)
        accept = handler.headers.get("Accept", "")
        wants_json = JSON_TYPE in accept or query.get("format") == [JSON_TYPE]
        if wants_json and not faults.html_only:
            body, content_type = _json_page(project, files), JSON_TYPE
        else:
            body, content_type = _html_page(project, files), f"{HTML_TYPE}; charset=utf-8"
        headers: list[tuple[str, str]] = [("Content-Type", content_type)]
        if faults.gzip_pages and "gzip" in handler.headers.get("Accept-Encoding", ""):
            body = gzip.compress(body)
            headers.append(("Content-Encoding", "gzip"))
        return self._send(handler, 200, body, headers)

    def _huge_page(self, handler: BaseHTTPRequestHandler, size: int, declared: bool) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", f"{HTML_TYPE}; charset=utf-8")
        if declared:
            handler.send_header("Content-Length", str(size))
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.close_connection = True
        line = b'<a href="x-1.0.tar.gz">x-1.0.tar.gz</a>\n'
        chunk = line * (_CHUNK // len(line))
        sent = 0
        self.page_bytes_sent = 0
        try:
            while sent < size and not self._stopping.is_set():
                piece = chunk[: size - sent]
                handler.wfile.write(piece)
                sent += len(piece)
                self.page_bytes_sent = sent
        except OSError:  # the client hung up: what it should do past its size limit
            return

    def _file(self, handler: BaseHTTPRequestHandler, project: str, filename: str) -> None:
        faults = self.faults
        if filename.endswith(".provenance"):
            return self._provenance(handler, project, filename[: -len(".provenance")])
        want_metadata = filename.endswith(".metadata")
        try:
            hosted = self.file(filename[: -len(".metadata")] if want_metadata else filename)
        except KeyError:
            return self._send(handler, 404, b"Not Found\n", _TEXT)
        if canonicalize_name(hosted.project) != project:
            return self._send(handler, 404, b"Not Found\n", _TEXT)
        if want_metadata:
            if hosted.metadata is None:
                return self._send(handler, 404, b"Not Found\n", _TEXT)
            return self._send(handler, 200, hosted.metadata, _TEXT)
        data = hosted.data
        if faults.wrong_bytes:
            data = bytes(b ^ 0xFF for b in data[:16]) + data[16:]
        headers: list[tuple[str, str]] = [("Content-Type", "application/octet-stream")]
        if faults.gzip_sdists and filename.endswith(".tar.gz"):
            headers.append(("Content-Encoding", "gzip"))
        if faults.truncate:
            handler.send_response(200)
            for key, value in headers:
                handler.send_header(key, value)
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data[: len(data) // 2])
            handler.wfile.flush()
            handler.close_connection = True
            return None
        return self._send(handler, 200, data, headers)

    def _provenance(self, handler: BaseHTTPRequestHandler, project: str, filename: str) -> None:
        try:
            hosted = self.file(filename)
        except KeyError:
            return self._send(handler, 404, b"Not Found\n", _TEXT)
        if canonicalize_name(hosted.project) != project or hosted.provenance is None:
            return self._send(handler, 404, b"Not Found\n", _TEXT)
        return self._send(handler, 200, hosted.provenance, (("Content-Type", "application/json"),))


class _QuietServer(ThreadingHTTPServer):
    """A threaded server that can drop every open connection, and whose clients may hang
    up mid-answer without a traceback."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        """Cut every keep-alive connection, as a server that went down would."""
        with self._open_lock:
            open_now, self._open = list(self._open), set()
        for connection in open_now:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients that stop reading (size limits, timeouts) are part of the tests."""


def _relative_url(hosted: HostedFile) -> str:
    # The page is /simple/<project>/, files are /files/<project>/<filename>.
    return f"../../files/{canonicalize_name(hosted.project)}/{hosted.filename}"


def _json_page(project: str, files: Sequence[HostedFile]) -> bytes:
    entries = []
    for hosted in files:
        entry: dict[str, object] = {
            "filename": hosted.filename,
            "url": _relative_url(hosted),
            "hashes": {"sha256": hosted.sha256},
            "requires-python": hosted.requires_python,
            "yanked": hosted.yanked,
            "size": hosted.size,
            "upload-time": hosted.upload_time,
            "core-metadata": {"sha256": hosted.metadata_sha256} if hosted.metadata is not None else False,
        }
        if hosted.provenance_url is not None:
            entry["provenance"] = hosted.provenance_url
        entries.append(entry)
    versions = sorted({h.version for h in files})
    document = {"meta": {"api-version": "1.1"}, "name": project, "files": entries, "versions": versions}
    return json.dumps(document).encode()


def _html_page(project: str, files: Sequence[HostedFile]) -> bytes:
    lines = [
        "<!DOCTYPE html>",
        '<html><head><meta name="pypi:repository-version" content="1.0">',
        f"<title>Links for {html.escape(project)}</title></head><body>",
    ]
    for hosted in files:
        attributes = [f'href="{html.escape(_relative_url(hosted))}#sha256={hosted.sha256}"']
        if hosted.requires_python:
            attributes.append(f'data-requires-python="{html.escape(hosted.requires_python)}"')
        if hosted.metadata is not None:
            attributes.append(f'data-core-metadata="sha256={hosted.metadata_sha256}"')
        if hosted.yanked is not False:
            reason = hosted.yanked if isinstance(hosted.yanked, str) else ""
            attributes.append(f'data-yanked="{html.escape(reason)}"')
        if hosted.provenance_url is not None:
            attributes.append(f'data-provenance="{html.escape(hosted.provenance_url)}"')
        lines.append(f"<a {' '.join(attributes)}>{html.escape(hosted.filename)}</a><br>")
    lines.append("</body></html>")
    return "\n".join(lines).encode()
