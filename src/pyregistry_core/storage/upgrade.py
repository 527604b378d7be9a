"""``pyregistry fsck --upgrade`` (or ``--repair``): give a layout v1 store layout v2's
documents, and repair manifests a crash left behind their records; ``find_lagging``
(plain ``fsck``) only reports what such a run would do, and writes nothing.

Every step is idempotent (create-only or compare-and-swap), so an interrupted run is
resumed by running it again, and it may run while replicas serve. The root listing is
marked ``complete`` only after every project has its manifest.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from ..names import NormalizedName
from ..records import STATUS_RECORD, FileRecord
from .base import Document, NotModified, Storage
from .manifest import ROOT_KEY, Manifest, RootListing, manifest_key
from .state import add_file, read_manifest, read_root, sync_root, update_root

__all__ = ["Lag", "UpgradeReport", "find_lagging", "upgrade"]

Progress = Callable[[int, int, str], None]


@attrs.frozen
class UpgradeReport:
    """What an upgrade did: projects seen, manifests written, records added to them."""

    projects: int
    created: tuple[str, ...]
    repaired: tuple[str, ...]


@attrs.frozen
class Lag:
    """A manifest (or the project list) behind the create-only records it summarizes."""

    project: str
    why: str
    filename: str | None = None


def _document(storage: Storage, key: str) -> bytes | None:
    found = storage.read_document(key)
    return found.data if isinstance(found, Document) else None


def find_lagging(storage: Storage) -> list[Lag]:
    """Every record its project's manifest lacks, every manifest missing, and every
    project the project list does not name (read-only: nothing is written)."""
    raw_root = _document(storage, ROOT_KEY)
    root = RootListing.from_json(raw_root) if raw_root is not None else None
    lags: list[Lag] = []
    if root is None:
        lags.append(Lag("", "no project list (a layout v1 store)"))
    for name in sorted(set(storage.list_projects()) | (root.projects if root is not None else set())):
        project = NormalizedName(name)
        raw = _document(storage, manifest_key(project))
        manifest = Manifest.from_json(raw) if raw is not None else None
        records = [f for f in storage.list_records(project) if f != STATUS_RECORD]
        if manifest is None:
            if records:
                lags.append(Lag(name, f"no manifest ({len(records)} records)"))
            continue
        lags.extend(
            Lag(name, "record created, missing from the manifest", f)
            for f in records
            if f not in manifest.records
        )
        if manifest.records and root is not None and name not in root.projects:
            lags.append(Lag(name, "not in the project list"))
    return lags


def _upgrade_project(storage: Storage, project: NormalizedName) -> tuple[bool, list[str]]:
    """Compact the project's manifest if it has none; add every record it lacks."""
    existed = storage.read_document(f"manifests/{project}.json") is not None
    found = read_manifest(storage, project)
    assert not isinstance(found, NotModified)
    manifest, _ = found
    held = set(manifest.records) if manifest is not None else set()
    added = []
    for filename in storage.list_records(project):
        if filename == STATUS_RECORD or filename in held:
            continue
        data = storage.read_record(project, filename)
        if data is not None:
            add_file(storage, FileRecord.from_json(data))
            added.append(filename)
    if manifest is not None or added:
        sync_root(storage, project)
    return not existed and manifest is not None, added


def upgrade(storage: Storage, progress: Progress | None = None) -> UpgradeReport:
    """Upgrade (or repair) every project of the store, then mark the listing complete."""
    found = read_root(storage)
    assert not isinstance(found, NotModified)
    names = sorted(set(storage.list_projects()) | found[0].projects)
    created: list[str] = []
    repaired: list[str] = []
    for done, name in enumerate(names, start=1):
        made, added = _upgrade_project(storage, NormalizedName(name))
        if made:
            created.append(name)
        repaired.extend(f"{name}/{filename}" for filename in added)
        if progress is not None:
            progress(done, len(names), name)

    def finish(listing: RootListing) -> RootListing:
        return listing if listing.complete else attrs.evolve(listing, complete=True)

    update_root(storage, finish)
    return UpgradeReport(len(names), tuple(created), tuple(repaired))
