"""Conditional GETs of small documents over presigned URLs: the warm path of every page.

With ``pypi.index_ttl = 0`` every page request revalidates its manifest with one
conditional GET. Through s3fs that GET costs about 2.4 ms of CPU in the client
(aiobotocore builds, signs and parses it, and the call hops to fsspec's event loop);
a URL presigned once per key and reused over keep-alive urllib3 connections costs
about a quarter of that (measured against moto: benchmarks/s3_pages.py).

Invariants:
1. Only an answer that means exactly one thing is used: 200 (the document and its
   ETag), 304 (unchanged) and a 404 naming ``NoSuchKey`` (absent). Anything else — an
   expired or refused signature, another error, a connection failure — returns
   ``None``, and the caller sends the request through s3fs as before, which reads and
   maps errors in one place.
2. A presigned URL is reused for at most a third of its lifetime, and dropped at once
   when the store refuses it (rotated credentials).
3. When a proxy applies to the endpoint (botocore honours ``HTTPS_PROXY``; urllib3 does
   not) or the client is configured in ways urllib3 would not follow, no request goes
   this way at all.
"""

from __future__ import annotations

import os
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import urllib3
from cachetools import TTLCache

from .base import NOT_MODIFIED, Document, NotModified

__all__ = ["UNANSWERED", "PresignedReads", "Unanswered"]

_LIFETIME = 900  # seconds a presigned URL is valid for
_REUSE = _LIFETIME // 3  # seconds one is reused for (clock skew and slow requests)
_MAX_URLS = 4096  # one per project manifest, plus the root listing
_MAX_BODY = 256 * 2**20  # a manifest of a project with very many files is still far below


class Unanswered:
    """What ``PresignedReads.read`` returns when only s3fs can tell."""


UNANSWERED = Unanswered()


def _applicable(options: dict[str, Any]) -> bool:
    """Whether urllib3 would reach the store exactly as botocore does."""
    config = options.get("config_kwargs") or {}
    client = options.get("client_kwargs") or {}
    if config.get("proxies") or config.get("client_cert") or client.get("verify") not in (None, True):
        return False
    if options.get("s3_additional_kwargs") or options.get("requester_pays"):
        return False  # headers or parameters every GET would need
    endpoint = options.get("endpoint_url") or client.get("endpoint_url")
    if endpoint is None:
        return not urllib.request.getproxies().get("https")
    host = urlsplit(str(endpoint)).hostname or ""
    proxies = urllib.request.getproxies()
    return not (proxies.get(urlsplit(str(endpoint)).scheme) and not urllib.request.proxy_bypass(host))


class PresignedReads:
    """Sends conditional GETs of documents over presigned URLs (None: use s3fs)."""

    def __init__(
        self,
        options: dict[str, Any],
        presign: Callable[[str, int], str],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.enabled = _applicable(options)
        self._presign = presign
        self._clock = clock
        self._urls: TTLCache[str, str] = TTLCache(maxsize=_MAX_URLS, ttl=_REUSE, timer=clock)
        self._lock = threading.Lock()
        self._pool_of: tuple[int, urllib3.PoolManager] | None = None

    @property
    def pool(self) -> urllib3.PoolManager:
        """This process's connection pool (made after a fork, as the s3fs filesystem)."""
        made = self._pool_of
        if made is None or made[0] != os.getpid():
            timeout = urllib3.Timeout(connect=5.0, read=60.0)
            made = (os.getpid(), urllib3.PoolManager(maxsize=16, retries=False, timeout=timeout))
            self._pool_of = made
        return made[1]

    def _url(self, path: str) -> str:
        with self._lock:
            url = self._urls.get(path)
        if url is None:
            url = self._presign(path, _LIFETIME)
            with self._lock:
                self._urls[path] = url
        return url

    def _forget(self, path: str) -> None:
        with self._lock:
            self._urls.pop(path, None)

    def send(self, url: str, headers: dict[str, str]) -> urllib3.BaseHTTPResponse:
        """One GET (the seam where tests count what is sent)."""
        return self.pool.request("GET", url, headers=headers, preload_content=False, redirect=False)

    def read(self, path: str, etag: str | None) -> Document | NotModified | Unanswered | None:
        """The document at ``path`` (``bucket/key``), ``NOT_MODIFIED``, ``None`` when it
        is absent, or ``UNANSWERED`` when this way cannot tell (ask s3fs)."""
        if not self.enabled:
            return UNANSWERED
        try:
            url = self._url(path)
        except Exception:  # whatever went wrong, s3fs asks again and maps the error
            return UNANSWERED
        try:
            response = self.send(url, {"If-None-Match": etag} if etag is not None else {})
            try:
                body = response.read(_MAX_BODY + 1) if response.status in (200, 404) else b""
            finally:
                response.release_conn()
        except (OSError, urllib3.exceptions.HTTPError):
            return UNANSWERED
        if response.status == 304:
            return NOT_MODIFIED
        if response.status == 200 and len(body) <= _MAX_BODY and response.headers.get("ETag"):
            return Document(body, str(response.headers["ETag"]))
        if response.status == 404 and b"<Code>NoSuchKey</Code>" in body:
            return None
        if response.status in (400, 403):
            self._forget(path)  # expired, or signed with credentials since rotated
        return UNANSWERED
