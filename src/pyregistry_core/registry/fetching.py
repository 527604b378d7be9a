"""Cache on demand: an upstream file is downloaded, verified and stored when first asked for.

Invariants:
1. Only a file the caller's view lists is fetched, only for a caller with
   ``cache_update``, and never one the release cooldown holds back; the same goes for a
   wheel's ``.metadata``, which is fetched alone when the upstream advertises its hash,
   and for a file's PEP 740 provenance, fetched alone too.
2. One download per file per process: a per-file lock, and a second look at storage
   inside it (another process may have stored it meanwhile).
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from ..acl import Identity, Permission
from ..dists import ArchiveLimits
from ..errors import FileHeldBack, FileNotFoundInProject, ProvenanceNotFound, RegistryError
from ..metrics import Metrics
from ..names import NormalizedName
from ..records import FileRecord
from ..storage.base import Storage
from ..storage.catalog import Catalog
from ..upstream.client import UpstreamFile
from ..upstream.mirror import Mirror
from .permissions import Permissions
from .publish import publish_upstream_file
from .results import UpstreamRedirect
from .upstream_metadata import CoreMetadataFile, upstream_metadata
from .upstream_provenance import ProvenanceFile, upstream_provenance
from .views import Views

__all__ = ["UpstreamFetcher"]

_UPSTREAM_MAX_FILE_SIZE = 4 * 2**30


@attrs.frozen
class UpstreamFetcher:
    """Stores upstream files the first time a caller who may cache them asks."""

    permissions: Permissions
    views: Views
    catalog: Catalog
    storage: Storage
    mirror: Mirror | None
    metrics: Metrics
    limits: ArchiveLimits
    wall_clock: Callable[[], float]

    def _wanted(
        self, identity: Identity, project: NormalizedName, filename: str, sha256: str | None
    ) -> UpstreamFile | UpstreamRedirect:
        """The listed upstream file the caller may have fetched (invariant 1), or a redirect."""
        view = self.views.view(identity, project)  # applies the fallback rules for this caller
        if isinstance(view, UpstreamRedirect):
            return view
        # Our listing may be older than the page the client read (another worker's): a
        # newer one in storage, or the refresh in flight, decides.
        listing = view.listing
        if listing is not None and self.mirror is not None and not listing.lists(filename):
            renewed = self.views.view(identity, project) if self.mirror.newer(project, listing) else view
            if isinstance(renewed, UpstreamRedirect):
                return renewed
            view = renewed
        if view.listing is None or self.mirror is None:
            raise FileNotFoundInProject(project, filename)
        self.permissions.require(identity, Permission.CACHE_UPDATE, project)
        for held in view.files.held_back:
            if held[0] == filename:  # the cooldown: never fetched, as if absent
                raise FileHeldBack(project, filename, held[2])
        wanted = [f for f in view.listing.project.files if f.filename == filename]
        if not wanted or (sha256 is not None and (wanted[0].sha256 or "-") != sha256):
            raise FileNotFoundInProject(project, filename)
        return wanted[0]

    def fetch(
        self, identity: Identity, project: NormalizedName, filename: str, sha256: str | None
    ) -> FileRecord | UpstreamRedirect:
        """The stored record of an upstream file, fetched now unless already stored."""
        wanted = self._wanted(identity, project, filename, sha256)
        if isinstance(wanted, UpstreamRedirect):
            return wanted
        assert self.mirror is not None  # _wanted refuses otherwise
        with self.mirror.locks.hold(f"file:{project}/{filename}"):
            record = self.catalog.reload(project).record(filename)
            if record is not None:
                return record
            try:
                record = publish_upstream_file(
                    self.storage,
                    self.mirror.upstream,
                    project,
                    wanted,
                    max_size=_UPSTREAM_MAX_FILE_SIZE,
                    limits=self.limits,
                    wall_clock=self.wall_clock,
                )
            except RegistryError:
                self.metrics.count_upstream("file", "failed")
                raise
            self.metrics.count_upstream("file", "stored")
        self.catalog.invalidate(project)
        return record

    def fetch_metadata(
        self, identity: Identity, project: NormalizedName, filename: str, sha256: str | None
    ) -> CoreMetadataFile | FileRecord | UpstreamRedirect:
        """PEP 658 metadata of an upstream wheel not stored here: the upstream's own
        ``.metadata`` when it advertises one with a hash (never the whole wheel), else the
        file itself is fetched (its record is returned)."""
        wanted = self._wanted(identity, project, filename, sha256)
        if isinstance(wanted, UpstreamRedirect):
            return wanted
        assert self.mirror is not None  # _wanted refuses otherwise
        if not filename.endswith(".whl") or wanted.metadata_sha256 is None:
            return self.fetch(identity, project, filename, sha256)
        return upstream_metadata(
            self.storage, self.mirror, project, wanted, self.limits.max_metadata_size, self.metrics
        )

    def fetch_provenance(
        self, identity: Identity, project: NormalizedName, filename: str, sha256: str | None
    ) -> ProvenanceFile:
        """PEP 740 provenance of an upstream file not stored here, fetched alone (never the
        file) and bound to the sha256 the upstream advertised for the file."""
        wanted = self._wanted(identity, project, filename, sha256)
        if isinstance(wanted, UpstreamRedirect) or self.mirror is None:
            # Redirect mode links upstream files where they live; their provenance too.
            raise ProvenanceNotFound(project, filename)
        return upstream_provenance(self.storage, self.mirror, project, wanted, self.metrics)
