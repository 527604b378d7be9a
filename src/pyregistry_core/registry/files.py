"""Finding a file to serve: a live record of the named project, or the upstream's copy.

Invariants:
1. A file is looked up in its own project only (a filename never reaches another).
2. A deleted file is ``FileGone`` (its name stays burnt), a quarantined project offers none
   (PEP 792), and a project converted to private never serves its cached upstream files.
"""

from __future__ import annotations

import attrs

from ..acl import Identity, Permission
from ..dists import DistFilename
from ..errors import FileGone, FileNotFoundInProject, ProvenanceNotFound
from ..names import NormalizedName
from ..records import FileRecord, Origin
from ..storage.base import Storage
from ..storage.catalog import Catalog
from .fetching import UpstreamFetcher
from .permissions import Permissions
from .results import UpstreamRedirect
from .upstream_metadata import CoreMetadataFile
from .upstream_provenance import ProvenanceFile, stored_provenance

__all__ = ["StoredFiles"]


@attrs.frozen
class StoredFiles:
    """Looks files up and reads their stored core metadata."""

    permissions: Permissions
    catalog: Catalog
    storage: Storage
    fetcher: UpstreamFetcher

    def find(
        self, identity: Identity, project: NormalizedName, filename: str, sha256: str | None = None
    ) -> FileRecord | UpstreamRedirect:
        """A live file of ``project``, cached from the upstream if needed."""
        record = self._stored(identity, project, filename)
        if record is None:
            return self.fetcher.fetch(identity, project, filename, sha256)
        return record

    def find_metadata(
        self, identity: Identity, project: NormalizedName, filename: str, sha256: str | None = None
    ) -> CoreMetadataFile | UpstreamRedirect:
        """PEP 658 metadata of a wheel of ``project``; of an upstream wheel not stored here,
        the upstream's own ``.metadata`` when it advertises one (not the whole wheel)."""
        found: FileRecord | CoreMetadataFile | UpstreamRedirect | None = self._stored(
            identity, project, filename
        )
        if found is None:
            found = self.fetcher.fetch_metadata(identity, project, filename, sha256)
        if not isinstance(found, FileRecord):
            return found
        if sha256 is not None and sha256 not in (found.sha256, "-"):
            raise FileNotFoundInProject(project, filename + ".metadata")
        return CoreMetadataFile(self.metadata(found), found.metadata_sha256 or "")

    def find_provenance(
        self, identity: Identity, project: NormalizedName, filename: str, sha256: str | None = None
    ) -> ProvenanceFile:
        """PEP 740 provenance of a file of ``project``, under the file's own read checks; of
        an upstream file not stored here, the upstream's object fetched alone."""
        record = self._stored(identity, project, filename)
        if record is None:
            return self.fetcher.fetch_provenance(identity, project, filename, sha256)
        if sha256 is not None and sha256 not in (record.sha256, "-"):
            raise ProvenanceNotFound(project, filename)
        return stored_provenance(self.storage, record)

    def _stored(self, identity: Identity, project: NormalizedName, filename: str) -> FileRecord | None:
        """The live stored record of ``filename`` (None: not stored, ask the upstream)."""
        self.permissions.require(identity, Permission.READ, project)
        entry = self.catalog.project(project)
        record = entry.record(filename)
        if record is None:  # maybe published since our last look, or listed late
            entry = self.catalog.reload(project, entry)
            record = entry.record(filename)
        if record is None and DistFilename.from_any_filename(filename) is not None:
            # A crash between a record and its manifest: the record is the truth.
            entry = self.catalog.repair(project, filename) or entry
            record = entry.record(filename)
        if record is not None and record.origin == Origin.UPSTREAM and entry.files.has_private_files:
            record = None  # converted to private: cached upstream files are gone for good
        if record is None:
            return None
        if record.deleted:
            raise FileGone(project, filename)
        if entry.files.status.hides_files:  # PEP 792: a quarantined project offers no files
            raise FileNotFoundInProject(project, filename)
        return record

    def core_metadata(self, record: FileRecord) -> bytes | None:
        """A file's METADATA or PKG-INFO bytes, whichever is stored (None if neither)."""
        suffix = ".metadata" if record.metadata_sha256 else ".pkg-info"
        try:
            with self.storage.open_blob(record.blob_key + suffix) as handle:
                data: bytes = handle.read()
        except FileNotFoundError:
            return None
        return data

    def metadata(self, record: FileRecord) -> bytes:
        """The stored PEP 658 metadata of a wheel."""
        data = self.core_metadata(record) if record.metadata_sha256 else None
        if data is None:
            raise FileNotFoundInProject(record.project, record.filename + ".metadata")
        return data
