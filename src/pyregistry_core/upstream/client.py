"""The upstream index client: the one module that talks to another index.

Invariants:
1. Every request is bounded: connect/read timeouts, a size cap on pages and files, at
   most ``max_redirects`` redirects, each to a host allowed by ``_check_target``
   (no loopback, link-local or private address unless the upstream itself is one).
2. Files are fetched with ``Accept-Encoding: identity`` and stored as the raw bytes
   received; every hash the upstream advertised is verified before anything is kept.
3. Credentials in the upstream URL never appear in a repr or a log line.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Protocol
from urllib.parse import urljoin, urlsplit, urlunsplit

import urllib3
from werkzeug.http import parse_options_header

from ..config_values import mask_url
from ..errors import UpstreamError
from ..upload import ByteSink
from .addresses import AddressGuard, AddressRefused, guarded_pool_manager
from .fields import HASH_NAMES, FileOrigins
from .pages import UpstreamFile, UpstreamProject, parse_html_page, parse_json_page

__all__ = [
    "FileOrigins",
    "HttpUpstream",
    "Upstream",
    "UpstreamFile",
    "UpstreamProject",
    "parse_html_page",
    "parse_json_page",
    "verify_hashes",
]

log = logging.getLogger(__name__)

_ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"


class Upstream(Protocol):
    """What the registry needs from an upstream index."""

    base_url: str
    origins: FileOrigins  # where its files may come from

    def project(self, name: str) -> UpstreamProject | None:
        """The project's page, or None when the upstream has no such project (404)."""

    def download(self, url: str, out: ByteSink, max_size: int) -> int:
        """Write the file's raw bytes to ``out``; return the size."""

    def project_url(self, name: str) -> str:
        """The upstream's Simple page URL for ``name`` (for redirects)."""

    def json_url(self, name: str, version: str | None = None) -> str:
        """The upstream's JSON API URL for ``name`` (for redirects)."""


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, parts.hostname or "", parts.port or default


class HttpUpstream:
    """An upstream index reached over HTTP(S) with a pooled urllib3 client."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 10.0,
        max_page_size: int = 50 * 2**20,
        max_redirects: int = 5,
        file_hosts: Iterable[str] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        parts = urlsplit(self.base_url)
        self._headers = urllib3.make_headers(
            basic_auth=f"{parts.username}:{parts.password or ''}" if parts.username else None,
            user_agent="pyregistry",
        )
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
        self._base = urlunsplit(parts._replace(netloc=netloc))
        self._host = parts.hostname or ""
        self._origin = _origin(self._base)
        self.origins = FileOrigins.of(self._base, file_hosts)
        self._timeout = urllib3.Timeout(connect=min(timeout, 5.0), read=timeout)
        self._max_page_size = max_page_size
        self._max_redirects = max_redirects
        # Every connection is checked on the address it connects to (addresses.py).
        self._pool = guarded_pool_manager(AddressGuard(self._host), num_pools=16, maxsize=16, retries=False)

    def __repr__(self) -> str:
        return f"HttpUpstream({mask_url(self.base_url)!r})"

    def project_url(self, name: str) -> str:
        return f"{self._base}/simple/{name}/"

    def json_url(self, name: str, version: str | None = None) -> str:
        return f"{self._base}/pypi/{name}/{version}/json" if version else f"{self._base}/pypi/{name}/json"

    def _check_target(self, url: str, previous: str | None) -> None:
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError for a port out of range
        except ValueError:
            parts = None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise UpstreamError(f"upstream redirected to an unsupported URL {mask_url(url)!r}")
        if previous is not None and urlsplit(previous).scheme == "https" and parts.scheme != "https":
            raise UpstreamError(f"upstream redirected from https to {mask_url(url)!r}; refused")

    def _open(self, url: str, headers: Mapping[str, str]) -> tuple[str, urllib3.BaseHTTPResponse]:
        """GET ``url`` following at most ``max_redirects`` checked redirects."""
        previous = None
        for _ in range(self._max_redirects + 1):
            self._check_target(url, previous)
            send = dict(headers)
            if _origin(url) == self._origin:
                send.update(self._headers)  # credentials only ever go to the upstream's origin
            try:
                response = self._pool.request(
                    "GET",
                    url,
                    headers=send,
                    timeout=self._timeout,
                    redirect=False,
                    preload_content=False,
                    decode_content=False,
                )
            except AddressRefused as exc:
                raise UpstreamError(f"upstream pointed to an internal address {exc.host!r}; refused") from exc
            except urllib3.exceptions.HTTPError as exc:
                raise UpstreamError(
                    f"upstream request to {mask_url(url)!r} failed: {type(exc).__name__}"
                ) from exc
            if response.status in (301, 302, 303, 307, 308):
                location = response.headers.get("Location")
                _finish(response)
                if not location:
                    raise UpstreamError("upstream sent a redirect without Location")
                try:
                    previous, url = url, urljoin(url, location)
                except ValueError:
                    raise UpstreamError(
                        f"upstream redirected to an unsupported URL {mask_url(location)!r}"
                    ) from None
                continue
            return url, response
        raise UpstreamError(f"upstream redirected more than {self._max_redirects} times")

    def project(self, name: str) -> UpstreamProject | None:
        url, response = self._open(self.project_url(name), {"Accept": _ACCEPT, "Accept-Encoding": "gzip"})
        try:
            if response.status == 404:
                return None
            if response.status != 200:
                raise UpstreamError(f"upstream answered {response.status} for {name!r}")
            body = self._read_capped(response, self._max_page_size)
        finally:
            _finish(response)
        content_type = parse_options_header(response.headers.get("Content-Type"))[0].lower()
        if content_type == "application/vnd.pypi.simple.v1+json":
            return parse_json_page(name, url, body, self.origins)
        if content_type in ("text/html", "application/vnd.pypi.simple.v1+html", ""):
            return parse_html_page(name, url, body, self.origins)
        raise UpstreamError(f"upstream sent {content_type!r} for {name!r}")

    def _read_capped(self, response: urllib3.BaseHTTPResponse, limit: int) -> bytes:
        encoding = (response.headers.get("Content-Encoding") or "identity").lower()
        chunks: list[bytes] = []
        decode = encoding in ("gzip", "deflate")
        _copy_capped(response, chunks.append, limit, ("page", "page read"), 64 * 1024, decode)
        return b"".join(chunks)

    def fetch(self, url: str, max_size: int) -> bytes:
        """GET a small document (an OIDC issuer's key set) with the same bounds as pages."""
        _final, response = self._open(url, {"Accept": "application/json"})
        try:
            if response.status != 200:
                raise UpstreamError(f"{mask_url(url)!r} answered {response.status}")
            return self._read_capped(response, max_size)
        finally:
            _finish(response)

    def download(self, url: str, out: ByteSink, max_size: int) -> int:
        _final, response = self._open(url, {"Accept-Encoding": "identity"})
        try:
            if response.status != 200:
                raise UpstreamError(f"upstream answered {response.status} for {mask_url(url)!r}")
            # Raw bytes, never decoded: a .tar.gz labelled Content-Encoding: gzip is
            # still the .tar.gz; the hash check afterwards decides whether it is right.
            total = _copy_capped(response, out.write, max_size, ("file", "download"), 256 * 1024, False)
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and total != int(declared):
                raise UpstreamError("upstream download was truncated")
            return total
        finally:
            _finish(response)


def _copy_capped(
    response: urllib3.BaseHTTPResponse,
    sink: Callable[[bytes], object],
    limit: int,
    names: tuple[str, str],
    chunk_size: int,
    decode: bool,
) -> int:
    """Stream a body into ``sink``, refusing more than ``limit`` bytes, declared or sent;
    ``names`` say what is read ("page", "page read") in the errors."""
    what, reading = names
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise UpstreamError(f"upstream {what} is larger than {limit} bytes")
    total = 0
    try:
        for chunk in response.stream(chunk_size, decode_content=decode):
            total += len(chunk)
            if total > limit:
                raise UpstreamError(f"upstream {what} is larger than {limit} bytes")
            sink(chunk)
    except urllib3.exceptions.HTTPError as exc:
        raise UpstreamError(f"upstream {reading} failed: {type(exc).__name__}") from exc
    return total


def _finish(response: urllib3.BaseHTTPResponse) -> None:
    """Hand a connection back to the pool only once its response is fully read; a
    response with more than a little left unread closes its connection instead."""
    try:
        leftover = response.read(64 * 1024, decode_content=False)
        if leftover and response.read(1, decode_content=False):
            response.close()
            return
    except (urllib3.exceptions.HTTPError, OSError, RuntimeError):
        # RuntimeError: urllib3 reads no raw bytes after decoded ones, as of a gzip'd page
        # abandoned at its size limit; that connection is closed, not drained.
        response.close()
        return
    response.release_conn()


def verify_hashes(path: str, hashes: Mapping[str, str]) -> str:
    """Check a downloaded file against every advertised hash; return its sha256."""
    digests = {name: hashlib.new(name) for name in hashes if name in HASH_NAMES}
    sha256 = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            sha256.update(chunk)
            for digest in digests.values():
                digest.update(chunk)
    for name, digest in digests.items():
        if digest.hexdigest() != hashes[name].lower():
            raise UpstreamError(f"upstream file does not match its advertised {name} hash")
    return sha256.hexdigest()
