"""Every value an upstream page gives is untrusted input: checked here, at parse time.

Invariant: an ``UpstreamFile`` that leaves ``vet_file`` has a filename that parses as a
distribution of the page's project, an http(s) URL on an allowed origin (never a
downgrade from an https upstream), hashes that are hex of their algorithm's length,
and ``requires-python``, ``upload-time``, ``size``, yanked reason, core-metadata
hash and PEP 740 provenance URL that mean what their PEP says. A file whose identity
(name, URL, hashes) is wrong is dropped; a wrong optional field is dropped alone.
Either way the page's drops are logged once, in one line.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import attrs
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from ..config_values import mask_url
from ..dists import DistFilename
from ..names import NormalizedName

if TYPE_CHECKING:
    from .project import UpstreamFile

__all__ = ["HASH_NAMES", "FileOrigins", "is_hex_digest", "vet_file", "vet_files"]

log = logging.getLogger(__name__)

# hashlib names PEP 503 allows in a fragment, with the hex length of each digest.
HASH_NAMES = {
    name: hashlib.new(name).digest_size * 2
    for name in ("sha256", "sha512", "sha384", "sha224", "sha1", "md5", "blake2b")
}
_HEX = re.compile(r"[0-9a-f]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# PEP 700: ``yyyy-mm-ddThh:mm:ss.ffffffZ`` (the fraction optional, as PyPI has sent both).
_UPLOAD_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z")
MAX_REASON = 1000
MAX_FILENAME = 255
MAX_URL = 4096
MAX_REQUIRES_PYTHON = 200
MAX_SIZE = 2**50


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


@attrs.frozen
class FileOrigins:
    """Where an upstream's file URLs may point: its own origin, or the file hosts allowed.

    ``file_hosts`` None means any host (``pypi.upstream_file_hosts = *``, the default:
    the client's connect-time address check still refuses internal addresses).
    """

    upstream: tuple[str, str, int | None]
    file_hosts: frozenset[str] | None = None

    @classmethod
    def of(cls, upstream_url: str, file_hosts: Iterable[str] | None = None) -> FileOrigins:
        """The origins of an upstream at ``upstream_url`` plus ``file_hosts`` (None: any)."""
        hosts = None if file_hosts is None else frozenset(h.lower() for h in file_hosts)
        return cls(_origin(upstream_url), hosts)

    def allows(self, url: str) -> bool:
        """Whether a file may be fetched from (or a client sent to) ``url``."""
        if len(url) > MAX_URL or _CONTROL.search(url) or " " in url:
            return False
        try:
            scheme, host, port = _origin(url)
            parts = urlsplit(url)
        except ValueError:  # a bad port or an unbalanced IPv6 bracket
            return False
        if scheme not in ("http", "https") or not host or parts.username is not None:
            return False
        if self.upstream[0] == "https" and scheme != "https":
            return False  # never downgrade: an https upstream's files come over https
        if (scheme, host, port) == self.upstream:
            return True
        return self.file_hosts is None or host in self.file_hosts

    def allows_provenance(self, url: str) -> bool:
        """PEP 740: a provenance URL is absolute, on an allowed origin and secure: https,
        or http on a loopback address (a secure context in the W3C's sense)."""
        if not self.allows(url):
            return False
        scheme, host, _port = _origin(url)
        return scheme == "https" or host in _LOOPBACK or host.startswith("127.")


_LOOPBACK = frozenset({"localhost", "::1", "[::1]"})


def is_hex_digest(value: object, algorithm: str = "sha256") -> bool:
    """Whether ``value`` is a lowercase hex digest of ``algorithm``'s length."""
    return (
        isinstance(value, str)
        and len(value) == HASH_NAMES.get(algorithm, -1)
        and _HEX.fullmatch(value) is not None
    )


def _identity_problem(project: NormalizedName, file: UpstreamFile, origins: FileOrigins) -> str | None:
    """Why a file cannot be listed at all, or None."""
    name = file.filename
    if not isinstance(name, str) or not name or len(name) > MAX_FILENAME:
        return "a filename that is empty or too long"
    if _CONTROL.search(name) or "/" in name or "\\" in name:
        return "a filename with a separator or control character"
    dist = DistFilename.from_any_filename(name)
    if dist is None or dist.name != project:
        return "a filename that is not a distribution of this project"
    if not isinstance(file.url, str) or not origins.allows(file.url):
        return "a URL that is not http(s) on an allowed origin"
    for algorithm, digest in file.hashes.items():
        if not is_hex_digest(digest, algorithm):
            return f"a {algorithm} hash that is not hex of the right length"
    return None


def _checked_optional(file: UpstreamFile, origins: FileOrigins, dropped: list[str]) -> UpstreamFile:
    """``file`` with each optional field that does not mean what its PEP says removed."""
    changes: dict[str, object] = {}
    if file.requires_python is not None and not _is_specifier(file.requires_python):
        changes["requires_python"] = None
        dropped.append("requires-python")
    if file.upload_time is not None and not _is_upload_time(file.upload_time):
        changes["upload_time"] = None
        dropped.append("upload-time")
    if file.size is not None and (
        isinstance(file.size, bool) or not isinstance(file.size, int) or not 0 <= file.size < MAX_SIZE
    ):
        changes["size"] = None
        dropped.append("size")
    reason = file.yanked_reason
    if reason and (not isinstance(reason, str) or len(reason) > MAX_REASON or _CONTROL.search(reason)):
        changes["yanked_reason"] = ""
        dropped.append("yanked reason")
    if file.metadata_sha256 is not None and not is_hex_digest(file.metadata_sha256):
        changes.update(metadata_sha256=None, has_metadata=False)
        dropped.append("core-metadata hash")
    if file.provenance is not None and not origins.allows_provenance(file.provenance):
        changes["provenance"] = None
        dropped.append("provenance URL")
    return attrs.evolve(file, **changes) if changes else file  # type: ignore[arg-type]


def _is_specifier(value: object) -> bool:
    if not isinstance(value, str) or len(value) > MAX_REQUIRES_PYTHON or _CONTROL.search(value):
        return False
    try:
        SpecifierSet(value)
    except InvalidSpecifier:
        return False
    return True


def _is_upload_time(value: object) -> bool:
    if not isinstance(value, str) or not _UPLOAD_TIME.fullmatch(value):
        return False
    try:
        datetime.strptime(value[:19], "%Y-%m-%dT%H:%M:%S")
    except ValueError:  # month 13, February 30th
        return False
    return True


def vet_file(
    project: NormalizedName, file: UpstreamFile, origins: FileOrigins, dropped: list[str]
) -> UpstreamFile | None:
    """``file`` with bad optional fields removed, or None when it cannot be listed at all;
    each drop is appended to ``dropped``."""
    problem = _identity_problem(project, file, origins)
    if problem is not None:
        dropped.append(f"{str(file.filename)[:80]!r} ({problem})")
        return None
    return _checked_optional(file, origins, dropped)


def vet_files(
    project: NormalizedName, files: Iterable[UpstreamFile], origins: FileOrigins, source: str
) -> tuple[UpstreamFile, ...]:
    """Every file of a page that can be listed; what was dropped is logged in one line."""
    dropped: list[str] = []
    kept = tuple(v for f in files if (v := vet_file(project, f, origins, dropped)) is not None)
    if dropped:
        shown = "; ".join(dropped[:5]) + (f"; and {len(dropped) - 5} more" if len(dropped) > 5 else "")
        log.warning("upstream page %s of %s: dropped %s", mask_url(source), project, shown)
    return kept
