"""Managing published files: yank and un-yank (PEP 592), delete, project status (PEP 792).

Invariant: nothing is edited in place; each change writes a new record (a tombstone for
a delete, so the filename stays burnt), so every process sees it on its next look.
"""

from __future__ import annotations

import attrs

from ..acl import Identity, Permission
from ..errors import FileNotFoundInProject, InvalidUpload, PermissionDenied, ProjectNotFound
from ..names import NormalizedName
from ..records import STATUS_RECORD, FileRecord, ProjectStatus, same_version
from ..storage.base import Storage
from ..storage.catalog import Catalog
from .permissions import Permissions

__all__ = ["Management"]


@attrs.frozen
class Management:
    """The managing use cases: yank, delete, project status."""

    permissions: Permissions
    storage: Storage
    catalog: Catalog

    def _targets(self, project: NormalizedName, target: str) -> list[FileRecord]:
        """The live files a filename or a version names in ``project``."""
        entry = self.catalog.reload(project)
        record = entry.record(target)
        if record is not None and not record.deleted:
            return [record]
        found = [r for _, r in entry.records.values() if not r.deleted and same_version(r.version, target)]
        if not found:
            raise FileNotFoundInProject(project, target)
        return found

    def set_yanked(
        self, identity: Identity, project: NormalizedName, target: str, *, yanked: bool, reason: str = ""
    ) -> list[FileRecord]:
        """Yank or un-yank a file or every file of a release (PEP 592); visible at once."""
        _upload_only(identity)
        self.permissions.require(identity, Permission.WRITE, project)
        changed = []
        for record in self._targets(project, target):
            new = attrs.evolve(record, yanked=yanked, yanked_reason=reason if yanked else "")
            self.storage.replace_record(project, record.filename, new.to_json())
            changed.append(new)
        self.catalog.invalidate(project)
        return changed

    def delete(self, identity: Identity, project: NormalizedName, target: str) -> list[FileRecord]:
        """Delete a file or a release; the filenames stay burnt (a tombstone record remains)."""
        self.permissions.require(identity, Permission.DELETE, project)
        deleted = []
        for record in self._targets(project, target):
            tombstone = attrs.evolve(record, deleted=True)
            self.storage.replace_record(project, record.filename, tombstone.to_json())
            for suffix in ("", ".metadata", ".pkg-info"):
                self.storage.delete_blob(record.blob_key + suffix)
            deleted.append(tombstone)
        self.catalog.invalidate(project)
        return deleted

    def set_status(
        self, identity: Identity, project: NormalizedName, status: str, reason: str = ""
    ) -> ProjectStatus:
        """Set a project's PEP 792 status (archived refuses uploads, quarantined hides files)."""
        if status not in ProjectStatus.STATES:
            raise InvalidUpload(
                f"Unknown project status {status!r}; use one of {', '.join(ProjectStatus.STATES)}."
            )
        _upload_only(identity)
        self.permissions.require(identity, Permission.WRITE, project)
        if not self.catalog.reload(project).stored:
            raise ProjectNotFound(project)
        value = ProjectStatus(status, reason)
        self.storage.replace_record(project, STATUS_RECORD, value.to_json())
        if status == "quarantined":
            self.storage.put_blob(f"quarantine/{project}", b"")
        else:
            self.storage.delete_blob(f"quarantine/{project}")
        self.catalog.invalidate(project)
        return value


def _upload_only(identity: Identity) -> None:
    """A token minted by trusted publishing uploads; it never yanks or changes a status."""
    if identity.publisher is not None:
        raise PermissionDenied("A token minted by trusted publishing may only upload.")
