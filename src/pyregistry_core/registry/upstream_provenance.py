"""PEP 740 provenance of an upstream file, fetched and stored when the file is cached.

Invariants:
1. Only a provenance URL ``upstream/fields.py`` let through is fetched, through the
   upstream client (its timeout, redirect and address checks), at most 1 MiB.
2. Only an object whose every attestation names the cached file's filename and sha256
   (``provenance.py``) is stored, at ``<file's key>.provenance``; anything else is logged
   and dropped. A provenance problem never keeps the file itself from being cached.

Not yet done: serving the stored object at our own URL and advertising it on our pages
(``provenance`` / ``data-provenance``, Simple API 1.3).
"""

from __future__ import annotations

import io
import logging

from ..config_values import mask_url
from ..errors import UpstreamError
from ..provenance import MAX_PROVENANCE_SIZE, ProvenanceRejected, check_provenance
from ..storage.base import Storage
from ..upstream.client import Upstream, UpstreamFile

__all__ = ["PROVENANCE_SUFFIX", "store_provenance"]

log = logging.getLogger(__name__)
PROVENANCE_SUFFIX = ".provenance"


def store_provenance(storage: Storage, upstream: Upstream, file: UpstreamFile, key: str, sha256: str) -> bool:
    """Fetch, check and store ``file``'s provenance next to its bytes at ``key``; whether it was stored."""
    if file.provenance is None:
        return False
    buffer = io.BytesIO()
    try:
        upstream.download(file.provenance, buffer, MAX_PROVENANCE_SIZE)
        check_provenance(buffer.getvalue(), file.filename, sha256)
    except (UpstreamError, ProvenanceRejected) as error:
        why = error.message if isinstance(error, UpstreamError) else str(error)
        log.warning("provenance of %s from %s not stored: %s", file.filename, mask_url(file.provenance), why)
        return False
    storage.put_blob(key + PROVENANCE_SUFFIX, buffer.getvalue())
    return True
