"""Managing published files: yank and un-yank (PEP 592), delete, project status (PEP 792).

Invariant: every change is a pure function of the project's manifest, applied by
compare-and-swap and retried on conflict (``storage/state.py``), so changes racing on
any number of replicas end as one of their serial orders; a tombstone is never undone.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from ..acl import Identity, Permission
from ..errors import FileNotFoundInProject, InvalidUpload, PermissionDenied, ProjectNotFound
from ..names import NormalizedName
from ..records import FileRecord, ProjectStatus, same_version
from ..storage.base import Storage
from ..storage.catalog import Catalog
from ..storage.manifest import Manifest
from ..storage.state import sync_root
from .permissions import Permissions

__all__ = ["Management"]


@attrs.frozen
class Management:
    """The managing use cases: yank, delete, project status."""

    permissions: Permissions
    storage: Storage
    catalog: Catalog

    def _change_files(
        self, project: NormalizedName, target: str, evolve: Callable[[FileRecord], FileRecord]
    ) -> list[FileRecord]:
        """Apply ``evolve`` to every live file ``target`` names, in one compare-and-swap."""
        changed: list[FileRecord] = []

        def change(manifest: Manifest) -> Manifest:
            changed.clear()  # a retry starts again from a newer manifest
            for record in _targets(manifest, project, target):
                new = evolve(record)
                manifest = manifest.with_record(new)
                changed.append(new)
            return manifest

        self.catalog.update(project, change)
        return changed

    def set_yanked(
        self, identity: Identity, project: NormalizedName, target: str, *, yanked: bool, reason: str = ""
    ) -> list[FileRecord]:
        """Yank or un-yank a file or every file of a release (PEP 592); visible at once."""
        _upload_only(identity)
        self.permissions.require(identity, Permission.WRITE, project)
        return self._change_files(
            project,
            target,
            lambda r: attrs.evolve(r, yanked=yanked, yanked_reason=reason if yanked else ""),
        )

    def delete(self, identity: Identity, project: NormalizedName, target: str) -> list[FileRecord]:
        """Delete a file or a release; the filenames stay burnt (a tombstone record remains)."""
        self.permissions.require(identity, Permission.DELETE, project)
        deleted = self._change_files(project, target, lambda r: attrs.evolve(r, deleted=True))
        for tombstone in deleted:
            # The record says so too, so even a manifest rebuilt from records keeps it.
            self.storage.replace_record(project, tombstone.filename, tombstone.to_json())
            for suffix in ("", ".metadata", ".pkg-info", ".provenance", ".attestations"):
                self.storage.delete_blob(tombstone.blob_key + suffix)
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
        value = ProjectStatus(status, reason)

        def change(manifest: Manifest) -> Manifest:
            if not manifest.records:
                raise ProjectNotFound(project)
            return manifest.with_status(value)

        self.catalog.update(project, change)
        sync_root(self.storage, project)  # the project list hides quarantined projects
        self.catalog.invalidate(project)
        return value


def _upload_only(identity: Identity) -> None:
    """A token minted by trusted publishing uploads; it never yanks or changes a status."""
    if identity.publisher is not None:
        raise PermissionDenied("A token minted by trusted publishing may only upload.")


def _targets(manifest: Manifest, project: NormalizedName, target: str) -> list[FileRecord]:
    """The live files a filename or a version names in ``project``."""
    record = manifest.records.get(target)
    if record is not None and not record.deleted:
        return [record]
    found = [r for r in manifest.records.values() if not r.deleted and same_version(r.version, target)]
    if not found:
        raise FileNotFoundInProject(project, target)
    return found
