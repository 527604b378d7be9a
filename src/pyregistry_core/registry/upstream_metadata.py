"""PEP 658 metadata of an upstream wheel, fetched alone: a resolver reading the
dependencies of twenty candidate versions must not make the proxy download twenty wheels.

Invariants:
1. Only metadata whose sha256 the upstream's listing advertised is fetched, at most
   ``max_size`` bytes, and kept only when it hashes to that value and names the wheel's
   project and version.
2. It is stored content-addressed (``mirror/<project>/<sha256>.metadata``) and read from
   there afterwards; the wheel itself, once fetched, brings its own copy.
"""

from __future__ import annotations

import hashlib
import io

import attrs
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ..dists import CoreMetadata, DistFilename
from ..errors import InvalidUpload, UpstreamError
from ..metrics import Metrics
from ..names import NormalizedName
from ..storage.base import Storage
from ..upstream.client import UpstreamFile
from ..upstream.mirror import Mirror

__all__ = ["CoreMetadataFile", "upstream_metadata"]


@attrs.frozen
class CoreMetadataFile:
    """A wheel's METADATA bytes and their sha256 (served as ``<file>.metadata``)."""

    data: bytes
    sha256: str


def _key(project: NormalizedName, sha256: str) -> str:
    return f"mirror/{project}/{sha256}.metadata"


def _check(project: NormalizedName, file: UpstreamFile, data: bytes) -> None:
    """The metadata names the wheel's own project and version (else UpstreamError)."""
    dist = DistFilename.from_any_filename(file.filename)
    try:
        metadata = CoreMetadata.from_bytes(data, file.filename)
        same_version = dist is not None and Version(metadata.version) == dist.version
    except (InvalidUpload, InvalidVersion) as exc:
        raise UpstreamError(f"upstream metadata of {file.filename!r} is invalid") from exc
    if canonicalize_name(metadata.name) != project or not same_version:
        raise UpstreamError(f"upstream metadata of {file.filename!r} names another distribution")


def upstream_metadata(
    storage: Storage,
    mirror: Mirror,
    project: NormalizedName,
    file: UpstreamFile,
    max_size: int,
    metrics: Metrics,
) -> CoreMetadataFile:
    """The advertised metadata of ``file``: stored, or fetched, verified and stored now."""
    expected = file.metadata_sha256
    assert expected is not None  # callers check
    key = _key(project, expected)
    try:
        with storage.open_blob(key) as handle:
            return CoreMetadataFile(handle.read(), expected)
    except FileNotFoundError:
        pass
    with mirror.locks.hold(f"metadata:{project}/{expected}"):
        try:  # another thread may have stored it while we waited
            with storage.open_blob(key) as handle:
                return CoreMetadataFile(handle.read(), expected)
        except FileNotFoundError:
            pass
        out = io.BytesIO()
        try:
            # PEP 658: the metadata lives at the file's URL plus ".metadata".
            mirror.upstream.download(file.url + ".metadata", out, max_size)
            data = out.getvalue()
            if hashlib.sha256(data).hexdigest() != expected:
                raise UpstreamError(
                    f"upstream metadata of {file.filename!r} does not match its advertised hash"
                )
            _check(project, file, data)
        except UpstreamError:
            metrics.count_upstream("metadata", "failed")
            raise
        storage.put_blob(key, data)
        metrics.count_upstream("metadata", "stored")
    return CoreMetadataFile(data, expected)
