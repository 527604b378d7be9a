"""What the registry's use cases answer with: values, never control flow."""

from __future__ import annotations

import hashlib
import threading

import attrs

from ..content_coding import IDENTITY, coding_named
from ..names import NormalizedName
from ..records import FileRecord
from ..upstream.client import Upstream

__all__ = ["Encoded", "Page", "UploadResult", "UpstreamRedirect"]


@attrs.frozen
class Encoded:
    """A page's bytes in one content coding (``identity``: as rendered) and their strong ETag."""

    coding: str
    body: bytes
    etag: str


@attrs.frozen
class Page:
    """Rendered bytes with their strong ETag, and the same bytes compressed, each coding once.

    A compressed copy is made on its first use and kept with the page, so it lives and
    dies with it (page caches are bounded); one that would not be smaller is not kept:
    that coding is answered with the rendered bytes. Memory per page: its body plus one
    smaller copy per offered coding (``content_coding.CODINGS``).
    """

    body: bytes
    etag: str
    # False for a page made for one answer and not kept: compressing it would be per request.
    kept: bool = True
    _encoded: dict[str, Encoded] = attrs.field(init=False, factory=dict, eq=False, repr=False)
    _lock: threading.Lock = attrs.field(init=False, factory=threading.Lock, eq=False, repr=False)

    @classmethod
    def of(cls, body: bytes, *, kept: bool = True) -> Page:
        """Wrap bytes, computing the ETag once."""
        return cls(body, '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"', kept)

    def etag_in(self, coding: str) -> str:
        """The strong ETag of the page in ``coding`` (the page's own, suffixed: ``"…-gz"``)."""
        found = coding_named(coding)
        return self.etag if found is None else f'{self.etag[:-1]}-{found.etag_suffix}"'

    def encoded(self, coding: str) -> Encoded:
        """The page in ``coding``, compressed on first use (once: later callers wait for it)."""
        found = self.encoded_if_ready(coding)
        if found is not None:
            return found
        with self._lock:
            found = self._encoded.get(coding)
            if found is None:
                found = self._encoded[coding] = self._encode(coding)
        return found

    def encoded_if_ready(self, coding: str) -> Encoded | None:
        """The page in ``coding`` if it needs no compressing now (never waits), else None."""
        found = self._encoded.get(coding)
        if found is None and coding_named(coding) is None:
            return Encoded(IDENTITY, self.body, self.etag)
        return found

    def _encode(self, coding: str) -> Encoded:
        found = coding_named(coding) if self.kept else None
        if found is not None:
            body = found.compress(self.body)
            if len(body) < len(self.body):
                return Encoded(found.name, body, self.etag_in(found.name))
        return Encoded(IDENTITY, self.body, self.etag)


@attrs.frozen
class UploadResult:
    """What an upload did: ``created`` is False for an identical re-upload."""

    record: FileRecord
    created: bool


@attrs.frozen
class UpstreamRedirect:
    """The answer is a page of the upstream index (``pypi.fallback = redirect``); the
    HTTP layer answers it with a 302 to ``location``."""

    location: str
    project: NormalizedName
    upstream: Upstream = attrs.field(repr=False, eq=False)

    @classmethod
    def to_project(cls, project: NormalizedName, upstream: Upstream) -> UpstreamRedirect:
        """To the upstream's Simple page of ``project``."""
        return cls(upstream.project_url(project), project, upstream)

    def to_json(self, version: str | None) -> UpstreamRedirect:
        """To the upstream's JSON API document of the project, or of one release."""
        return attrs.evolve(self, location=self.upstream.json_url(self.project, version))
