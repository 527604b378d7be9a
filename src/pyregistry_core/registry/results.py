"""What the registry's use cases answer with: values, never control flow."""

from __future__ import annotations

import hashlib

import attrs

from ..names import NormalizedName
from ..records import FileRecord
from ..upstream.client import Upstream

__all__ = ["Page", "UploadResult", "UpstreamRedirect"]


@attrs.frozen
class Page:
    """Rendered bytes with their strong ETag."""

    body: bytes
    etag: str

    @classmethod
    def of(cls, body: bytes) -> Page:
        """Wrap bytes, computing the ETag once."""
        return cls(body, '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"')


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
