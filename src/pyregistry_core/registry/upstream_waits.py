"""Whether answering a request for a project or file may wait on the upstream index.

Invariants:
1. With ``look=False`` nothing here does I/O or takes a lock that I/O holds: it reads
   what the catalog and the mirror already hold in memory, and answers None when that
   is not enough to tell. With ``look=True`` it may read storage, never the network.
2. It errs towards True: a request wrongly said to wait only runs in a slower lane.
3. Only a name with no listing anywhere, or a file not stored yet, waits (the mirror
   serves a stale listing at once and refreshes it in the background).
"""

from __future__ import annotations

from ..fallback import FallbackPolicy
from ..names import NormalizedName
from ..storage.catalog import Catalog
from ..upstream.mirror import Mirror

__all__ = ["may_wait_on_upstream"]


def may_wait_on_upstream(
    catalog: Catalog,
    mirror: Mirror | None,
    fallback: FallbackPolicy,
    project: NormalizedName,
    filename: str | None,
    *,
    look: bool,
) -> bool | None:
    """True if a request for ``project`` (its page, or ``filename``) may wait on the
    upstream; None when that needs a storage read and ``look`` is false."""
    if mirror is None:
        return False
    entry = catalog.project(project) if look else catalog.peek(project)
    private = entry is not None and entry.files.has_private_files
    if not fallback.may_ask_upstream(project, private):
        return False
    if filename is not None:
        # A stored file (or its .metadata) is read from storage; any other is fetched.
        stored = entry is not None and entry.record(filename.removesuffix(".metadata")) is not None
        return None if entry is None and not look else not stored
    if mirror.remembers(project):
        return False
    if not look:
        return None
    return mirror.known(project) is None
