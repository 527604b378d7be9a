"""PEP 740 provenance of an upstream file: fetched, checked, stored, and served at our URL.

Invariants:
1. Only a provenance URL ``upstream/fields.py`` let through is fetched, through the
   upstream client (its timeout, redirect and address checks), at most 1 MiB.
2. Only an object whose every attestation names the file's filename and sha256
   (``provenance.py``) is stored; anything else is logged and dropped. A provenance
   problem never keeps the file itself from being cached.
3. Asked for before the file is cached, the object is bound to the sha256 the upstream
   advertised and kept at ``mirror/<project>/<sha256>.provenance``; caching the file
   later stores that same object beside it (``<file's key>.provenance``), so one URL
   never serves two different objects.
4. Signatures are not verified (no Sigstore trust root here): the object is passed
   through as the upstream gave it, and says so in docs/security.md.
"""

from __future__ import annotations

import hashlib
import io
import logging

import attrs

from ..config_values import mask_url
from ..errors import ProvenanceNotFound, UpstreamError
from ..metrics import Metrics
from ..names import NormalizedName
from ..provenance import MAX_PROVENANCE_SIZE, ProvenanceRejected, check_provenance
from ..records import FileRecord
from ..storage.base import Storage
from ..upstream.client import Upstream, UpstreamFile
from ..upstream.mirror import Mirror

__all__ = [
    "PROVENANCE_SUFFIX",
    "ProvenanceFile",
    "store_provenance",
    "stored_provenance",
    "upstream_provenance",
]

log = logging.getLogger(__name__)
PROVENANCE_SUFFIX = ".provenance"


@attrs.frozen
class ProvenanceFile:
    """A PEP 740 provenance object's bytes and their sha256 (served as ``<file>.provenance``)."""

    data: bytes
    sha256: str


def _mirror_key(project: NormalizedName, sha256: str) -> str:
    return f"mirror/{project}/{sha256}{PROVENANCE_SUFFIX}"


def _read(storage: Storage, key: str) -> bytes | None:
    try:
        with storage.open_blob(key) as handle:
            data: bytes = handle.read(MAX_PROVENANCE_SIZE + 1)
    except FileNotFoundError:
        return None
    return data


def _fetch(upstream: Upstream, file: UpstreamFile, sha256: str) -> bytes:
    """The upstream's object for ``file``, checked against ``sha256`` (invariants 1, 2)."""
    assert file.provenance is not None  # callers check
    buffer = io.BytesIO()
    upstream.download(file.provenance, buffer, MAX_PROVENANCE_SIZE)
    check_provenance(buffer.getvalue(), file.filename, sha256)
    return buffer.getvalue()


def _bound(storage: Storage, project: NormalizedName, file: UpstreamFile, sha256: str) -> bytes | None:
    """The object kept for ``file`` when it was asked for before the file was cached."""
    data = _read(storage, _mirror_key(project, sha256))
    if data is None:
        return None
    try:
        check_provenance(data, file.filename, sha256)
    except ProvenanceRejected:
        return None
    return data


def store_provenance(
    storage: Storage, upstream: Upstream, project: NormalizedName, file: UpstreamFile, key: str, sha256: str
) -> str | None:
    """Fetch (or take the copy kept earlier), check and store ``file``'s provenance next
    to its bytes at ``key``; the stored object's sha256, or None when there is none."""
    if file.provenance is None:
        return None
    data = _bound(storage, project, file, sha256)
    if data is None:
        try:
            data = _fetch(upstream, file, sha256)
        except (UpstreamError, ProvenanceRejected) as error:
            why = error.message if isinstance(error, UpstreamError) else str(error)
            log.warning(
                "provenance of %s from %s not stored: %s", file.filename, mask_url(file.provenance), why
            )
            return None
    storage.put_blob(key + PROVENANCE_SUFFIX, data)
    return hashlib.sha256(data).hexdigest()


def stored_provenance(storage: Storage, record: FileRecord) -> ProvenanceFile:
    """The provenance object stored beside a file (else ``ProvenanceNotFound``)."""
    data = None
    if record.provenance_sha256 not in (None, "-"):
        data = _read(storage, record.blob_key + PROVENANCE_SUFFIX)
    if data is None or record.provenance_sha256 is None:
        raise ProvenanceNotFound(record.project, record.filename)
    return ProvenanceFile(data, record.provenance_sha256)


def upstream_provenance(
    storage: Storage, mirror: Mirror, project: NormalizedName, file: UpstreamFile, metrics: Metrics
) -> ProvenanceFile:
    """The provenance of an upstream file not cached here: kept, or fetched, bound to the
    sha256 the upstream advertised, and kept now (invariant 3)."""
    sha256 = file.sha256
    if file.provenance is None or sha256 is None:  # nothing to bind it to: never offered
        raise ProvenanceNotFound(project, file.filename)
    data = _bound(storage, project, file, sha256)
    if data is None:
        with mirror.locks.hold(f"provenance:{project}/{sha256}"):
            data = _bound(storage, project, file, sha256)  # another thread may have kept it
            if data is None:
                data = _fetch_to_keep(storage, mirror, project, file, sha256, metrics)
    return ProvenanceFile(data, hashlib.sha256(data).hexdigest())


def _fetch_to_keep(
    storage: Storage,
    mirror: Mirror,
    project: NormalizedName,
    file: UpstreamFile,
    sha256: str,
    metrics: Metrics,
) -> bytes:
    try:
        data = _fetch(mirror.upstream, file, sha256)
    except UpstreamError:
        metrics.count_upstream("provenance", "failed")
        raise
    except ProvenanceRejected as error:  # the upstream's object does not bind this file
        metrics.count_upstream("provenance", "rejected")
        log.warning(
            "provenance of %s from %s refused: %s", file.filename, mask_url(file.provenance or ""), error
        )
        raise ProvenanceNotFound(project, file.filename) from error
    storage.put_blob(_mirror_key(project, sha256), data)
    metrics.count_upstream("provenance", "stored")
    return data
