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
import ipaddress
import json
import logging
import socket
from collections.abc import Mapping
from html.parser import HTMLParser
from typing import IO, Any, Protocol
from urllib.parse import unquote, urldefrag, urljoin, urlsplit, urlunsplit

import attrs
import urllib3

from ..errors import UpstreamError
from ..settings import mask_url

__all__ = [
    "HttpUpstream",
    "Upstream",
    "UpstreamFile",
    "UpstreamProject",
    "mask_url",
]

log = logging.getLogger(__name__)

_ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
_HASH_NAMES = ("sha256", "sha512", "sha384", "sha224", "sha1", "md5", "blake2b")


@attrs.frozen
class UpstreamFile:
    """One file an upstream project page lists."""

    filename: str
    url: str = attrs.field(repr=mask_url)
    hashes: Mapping[str, str] = attrs.field(factory=dict)
    requires_python: str | None = None
    yanked: bool = False
    yanked_reason: str = ""
    size: int | None = None
    upload_time: str | None = None
    metadata_sha256: str | None = None
    has_metadata: bool = False

    @property
    def sha256(self) -> str | None:
        """The advertised sha256, if any."""
        return self.hashes.get("sha256")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (for the stored copy of a mirrored page)."""
        return attrs.asdict(self)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> UpstreamFile:
        """Read back ``to_dict``."""
        names = {a.name for a in attrs.fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in names})


@attrs.frozen
class UpstreamProject:
    """An upstream project page, parsed."""

    name: str
    files: tuple[UpstreamFile, ...]


class Upstream(Protocol):
    """What the registry needs from an upstream index."""

    base_url: str

    def project(self, name: str) -> UpstreamProject | None:
        """The project's page, or None when the upstream has no such project (404)."""

    def download(self, url: str, out: IO[bytes], max_size: int) -> int:
        """Write the file's raw bytes to ``out``; return the size."""

    def project_url(self, name: str) -> str:
        """The upstream's Simple page URL for ``name`` (for redirects)."""

    def json_url(self, name: str, version: str | None = None) -> str:
        """The upstream's JSON API URL for ``name`` (for redirects)."""


class _LinkParser(HTMLParser):
    """Collects anchors (with attributes) and a ``<base href>`` from a PEP 503 page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.anchors: list[dict[str, str | None]] = []
        self._current: dict[str, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs_: list[tuple[str, str | None]]) -> None:
        if tag == "base" and self.base is None:
            self.base = dict(attrs_).get("href")
        elif tag == "a":
            self._current = dict(attrs_)
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._current is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._current is not None:
            self._current["#text"] = "".join(self._text).strip()
            self.anchors.append(self._current)
            self._current = None


def _metadata_attr(value: Any) -> tuple[bool, str | None]:
    """Read PEP 658/714 ``core-metadata`` (``true`` / ``{"sha256": …}`` / ``"sha256=…"``)."""
    if isinstance(value, dict):
        return True, value.get("sha256")
    if isinstance(value, str):
        name, sep, digest = value.partition("=")
        if sep and name == "sha256":
            return True, digest
        return value.lower() == "true", None
    return bool(value), None


def parse_html_page(name: str, page_url: str, body: bytes) -> UpstreamProject:
    """Parse a PEP 503 project page."""
    parser = _LinkParser()
    parser.feed(body.decode("utf-8", "replace"))
    base = urljoin(page_url, parser.base) if parser.base else page_url
    files = []
    for anchor in parser.anchors:
        href = anchor.get("href")
        if not href:
            continue
        url, fragment = urldefrag(urljoin(base, href))
        filename = unquote(urlsplit(url).path.rsplit("/", 1)[-1])  # "%2B" is a "+"
        hashes = {}
        algo, sep, digest = fragment.partition("=")
        if sep and algo in _HASH_NAMES:
            hashes[algo] = digest.lower()
        # PEP 592: the attribute's presence means yanked, with or without a reason.
        yanked = anchor.get("data-yanked") or "" if "data-yanked" in anchor else None
        has_metadata, metadata_sha256 = _metadata_attr(
            anchor.get("data-core-metadata") or anchor.get("data-dist-info-metadata") or ""
        )
        files.append(
            UpstreamFile(
                filename=filename,
                url=url,
                hashes=hashes,
                requires_python=anchor.get("data-requires-python") or None,
                yanked=yanked is not None,
                yanked_reason=yanked or "",
                has_metadata=has_metadata,
                metadata_sha256=metadata_sha256,
            )
        )
    return UpstreamProject(name, tuple(files))


def parse_json_page(name: str, page_url: str, body: bytes) -> UpstreamProject:
    """Parse a PEP 691 project page."""
    try:
        document = json.loads(body)
        entries = document["files"]
    except (ValueError, KeyError, TypeError) as exc:
        raise UpstreamError(f"upstream sent an invalid PEP 691 page for {name!r}") from exc
    if not isinstance(entries, list):
        raise UpstreamError(f"upstream sent an invalid PEP 691 page for {name!r}")
    try:
        return UpstreamProject(name, tuple(_json_file(page_url, e) for e in entries if _is_file_entry(e)))
    except (TypeError, AttributeError, ValueError) as exc:
        raise UpstreamError(f"upstream sent an invalid PEP 691 page for {name!r}") from exc


def _is_file_entry(entry: Any) -> bool:
    return isinstance(entry, dict) and "url" in entry and "filename" in entry


def _json_file(page_url: str, entry: dict[str, Any]) -> UpstreamFile:
    yanked = entry.get("yanked", False)
    has_metadata, metadata_sha256 = _metadata_attr(
        entry.get("core-metadata", entry.get("dist-info-metadata", False))
    )
    hashes = {str(k): str(v).lower() for k, v in (entry.get("hashes") or {}).items() if k in _HASH_NAMES}
    size = entry.get("size")
    upload_time = entry.get("upload-time")
    return UpstreamFile(
        filename=str(entry["filename"]),
        url=urldefrag(urljoin(page_url, str(entry["url"])))[0],
        hashes=hashes,
        requires_python=entry.get("requires-python") or None,
        yanked=bool(yanked),
        yanked_reason=yanked if isinstance(yanked, str) else "",
        size=size if isinstance(size, int) else None,
        upload_time=upload_time if isinstance(upload_time, str) else None,
        has_metadata=has_metadata,
        metadata_sha256=metadata_sha256,
    )


def _address_classes(host: str) -> frozenset[str]:
    """The non-public kinds of address ``host`` resolves to (empty: public only)."""
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return frozenset()  # unresolvable: the connection will fail on its own
    classes = set()
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        # The most specific kind only: 127.0.0.1 is "private" too, yet a loopback
        # upstream must not send us to 10.0.0.1.
        for kind in ("loopback", "link_local", "unspecified", "multicast", "private", "reserved"):
            if getattr(address, f"is_{kind}"):
                classes.add(kind)
                break
    return frozenset(classes)


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
        # An upstream on an internal address may send us to the same kind of address.
        self._allowed_classes = _address_classes(self._host)
        self._timeout = urllib3.Timeout(connect=min(timeout, 5.0), read=timeout)
        self._max_page_size = max_page_size
        self._max_redirects = max_redirects
        self._pool = urllib3.PoolManager(num_pools=16, maxsize=16, retries=False)

    def __repr__(self) -> str:
        return f"HttpUpstream({mask_url(self.base_url)!r})"

    def project_url(self, name: str) -> str:
        return f"{self._base}/simple/{name}/"

    def json_url(self, name: str, version: str | None = None) -> str:
        return f"{self._base}/pypi/{name}/{version}/json" if version else f"{self._base}/pypi/{name}/json"

    def _check_target(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UpstreamError(f"upstream redirected to an unsupported URL {mask_url(url)!r}")
        if parts.hostname != self._host and not _address_classes(parts.hostname) <= self._allowed_classes:
            raise UpstreamError(f"upstream pointed to an internal address {parts.hostname!r}; refused")

    def _open(self, url: str, headers: Mapping[str, str]) -> tuple[str, urllib3.BaseHTTPResponse]:
        """GET ``url`` following at most ``max_redirects`` checked redirects."""
        for _ in range(self._max_redirects + 1):
            self._check_target(url)
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
            except urllib3.exceptions.HTTPError as exc:
                raise UpstreamError(
                    f"upstream request to {mask_url(url)!r} failed: {type(exc).__name__}"
                ) from exc
            if response.status in (301, 302, 303, 307, 308):
                location = response.headers.get("Location")
                _finish(response)
                if not location:
                    raise UpstreamError("upstream sent a redirect without Location")
                url = urljoin(url, location)
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
        content_type = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type == "application/vnd.pypi.simple.v1+json":
            return parse_json_page(name, url, body)
        if content_type in ("text/html", "application/vnd.pypi.simple.v1+html", ""):
            return parse_html_page(name, url, body)
        raise UpstreamError(f"upstream sent {content_type!r} for {name!r}")

    def _read_capped(self, response: urllib3.BaseHTTPResponse, limit: int) -> bytes:
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise UpstreamError(f"upstream page is larger than {limit} bytes")
        encoding = (response.headers.get("Content-Encoding") or "identity").lower()
        chunks = []
        total = 0
        try:
            for chunk in response.stream(64 * 1024, decode_content=encoding in ("gzip", "deflate")):
                total += len(chunk)
                if total > limit:
                    raise UpstreamError(f"upstream page is larger than {limit} bytes")
                chunks.append(chunk)
        except urllib3.exceptions.HTTPError as exc:
            raise UpstreamError(f"upstream page read failed: {type(exc).__name__}") from exc
        return b"".join(chunks)

    def download(self, url: str, out: IO[bytes], max_size: int) -> int:
        _final, response = self._open(url, {"Accept-Encoding": "identity"})
        try:
            if response.status != 200:
                raise UpstreamError(f"upstream answered {response.status} for {mask_url(url)!r}")
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_size:
                raise UpstreamError(f"upstream file is larger than {max_size} bytes")
            total = 0
            try:
                # Raw bytes, never decoded: a .tar.gz labelled Content-Encoding: gzip is
                # still the .tar.gz; the hash check below decides whether it is right.
                for chunk in response.stream(256 * 1024, decode_content=False):
                    total += len(chunk)
                    if total > max_size:
                        raise UpstreamError(f"upstream file is larger than {max_size} bytes")
                    out.write(chunk)
            except urllib3.exceptions.HTTPError as exc:
                raise UpstreamError(f"upstream download failed: {type(exc).__name__}") from exc
            if declared and declared.isdigit() and total != int(declared):
                raise UpstreamError("upstream download was truncated")
            return total
        finally:
            _finish(response)


def _finish(response: urllib3.BaseHTTPResponse) -> None:
    """Hand a connection back to the pool only once its response is fully read; a
    response with more than a little left unread closes its connection instead."""
    try:
        leftover = response.read(64 * 1024, decode_content=False)
        if leftover and response.read(1, decode_content=False):
            response.close()
            return
    except (urllib3.exceptions.HTTPError, OSError):
        response.close()
        return
    response.release_conn()


def verify_hashes(path: str, hashes: Mapping[str, str]) -> str:
    """Check a downloaded file against every advertised hash; return its sha256."""
    digests = {name: hashlib.new(name) for name in hashes if name in _HASH_NAMES}
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
