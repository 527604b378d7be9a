"""Reading and changing layout v2's documents (``manifest.py``).

Reads are conditional (one request when nothing changed); changes are compare-and-swap
loops retried on conflict, so concurrent writers on any number of replicas never lose
each other's changes. A store written by layout v1 (records only) is upgraded in place:
a missing root listing or manifest is compacted from the records, written create-only,
and from then on read in one request.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import attrs

from ..errors import StorageUnavailable
from ..names import NormalizedName
from ..records import STATUS_RECORD, FileRecord, ProjectStatus
from .base import NOT_MODIFIED, Document, NotModified, Storage
from .manifest import ROOT_KEY, Manifest, RootListing, manifest_key

__all__ = [
    "Versioned",
    "add_file",
    "compact_records",
    "read_manifest",
    "read_root",
    "sync_root",
    "update_manifest",
    "update_root",
]

Versioned = tuple[Manifest | None, str | None]
_ATTEMPTS = 64


def _backoff(attempt: int, sleep: Callable[[float], None]) -> None:
    """Full jitter, so writers that collided once do not collide again in step."""
    sleep(random.uniform(0, min(0.005 * 2**attempt, 0.25)))  # noqa: S311 - jitter, not a secret


def compact_records(storage: Storage, project: NormalizedName) -> Manifest | None:
    """A manifest compacted from layout v1's records (None when there are none)."""
    listing = storage.list_records(project)
    if not listing:
        return None
    status = ProjectStatus()
    if listing.pop(STATUS_RECORD, None) is not None:
        raw = storage.read_record(project, STATUS_RECORD)
        status = ProjectStatus.from_json(raw) if raw is not None else status
    data = storage.read_records(project, list(listing))
    return Manifest.from_records(project, (FileRecord.from_json(d) for d in data.values()), status)


def read_manifest(
    storage: Storage, project: NormalizedName, etag: str | None = None, *, complete: bool = False
) -> Versioned | NotModified:
    """The project's manifest and its version; ``complete``: the root listing says every
    project has one, so a missing manifest needs no look at layout v1's records."""
    for _ in range(_ATTEMPTS):
        found = storage.read_document(manifest_key(project), etag)
        if isinstance(found, NotModified):
            return NOT_MODIFIED
        if isinstance(found, Document):
            return Manifest.from_json(found.data), found.etag
        legacy = None if complete else compact_records(storage, project)
        if legacy is None:
            return None, None
        version = storage.write_document(manifest_key(project), legacy.to_json(), None)
        if version is not None:  # upgraded in place; else another process just did it
            return legacy, version
        etag = None
    raise StorageUnavailable(f"the manifest of {project!r} keeps changing; try again")


def update_manifest(
    storage: Storage,
    project: NormalizedName,
    change: Callable[[Manifest], Manifest],
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[Manifest, str]:
    """Apply ``change`` to the current manifest by compare-and-swap, retried on conflict.

    ``change`` must be a pure function of the manifest it is given (it may run several
    times) and return it unchanged (the same object) when there is nothing to do.
    """
    for attempt in range(_ATTEMPTS):
        current, etag = _versioned(read_manifest(storage, project))
        base = current if current is not None else Manifest(project)
        new = change(base)
        if new is base:  # nothing to do (and nothing to create)
            return base, etag or ""
        written = storage.write_document(manifest_key(project), new.next().to_json(), etag)
        if written is not None:
            return new.next(), written
        _backoff(attempt, sleep)
    raise StorageUnavailable(f"too many concurrent changes to {project!r}; try again")


def _versioned(result: Versioned | NotModified) -> Versioned:
    assert not isinstance(result, NotModified)  # an unconditional read has a body
    return result


def read_root(storage: Storage, etag: str | None = None) -> tuple[RootListing, str] | NotModified:
    """The root listing; a store without one (layout v1, or new) gets one, create-only."""
    for _ in range(_ATTEMPTS):
        found = storage.read_document(ROOT_KEY, etag)
        if isinstance(found, NotModified):
            return NOT_MODIFIED
        if isinstance(found, Document):
            return RootListing.from_json(found.data), found.etag
        # PEP 792: quarantined projects of layout v1 are marked by a blob.
        hidden = frozenset(key.rsplit("/", 1)[-1] for key in storage.list_blobs("quarantine/"))
        projects = frozenset(storage.list_projects())
        listing = RootListing(projects, hidden & projects, complete=not projects)
        version = storage.write_document(ROOT_KEY, listing.to_json(), None)
        if version is not None:
            return listing, version
        etag = None
    raise StorageUnavailable("the root listing keeps changing; try again")


def update_root(
    storage: Storage,
    change: Callable[[RootListing], RootListing],
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> RootListing:
    """Apply ``change`` to the root listing by compare-and-swap, retried on conflict."""
    for attempt in range(_ATTEMPTS):
        found = read_root(storage)
        assert not isinstance(found, NotModified)
        current, etag = found
        new = change(current)
        if new is current:
            return current
        if storage.write_document(ROOT_KEY, new.next().to_json(), etag) is not None:
            return new.next()
        _backoff(attempt, sleep)
    raise StorageUnavailable("too many concurrent changes to the project list; try again")


def sync_root(
    storage: Storage, project: NormalizedName, *, sleep: Callable[[float], None] = time.sleep
) -> None:
    """Make the root listing name ``project`` as its manifest says (hidden when
    quarantined), then mark the manifest listed.

    The manifest is read after the listing on every attempt, so of two status changes
    racing, the listing ends as the manifest the last one saw.
    """

    def change(listing: RootListing) -> RootListing:
        manifest, _ = _versioned(read_manifest(storage, project))
        if manifest is None or not manifest.records:  # only cooldown exemptions: no project yet
            return listing
        hidden = manifest.status.hides_files
        if project in listing.projects and (project in listing.hidden) == hidden:
            return listing
        return listing.with_project(project, hidden=hidden)

    update_root(storage, change, sleep=sleep)
    update_manifest(storage, project, lambda m: m if m.listed or not m.records else _listed(m), sleep=sleep)


def _listed(manifest: Manifest) -> Manifest:
    return attrs.evolve(manifest, listed=True)


def add_file(
    storage: Storage, record: FileRecord, *, sleep: Callable[[float], None] = time.sleep
) -> FileRecord:
    """Put a created record into its project's manifest (a no-op when the filename is
    there already, so a retry repairs a manifest a crash left behind); returns what
    the manifest holds for the filename (a tombstone stays a tombstone)."""

    def change(manifest: Manifest) -> Manifest:
        return manifest if record.filename in manifest.records else manifest.with_record(record)

    manifest, _ = update_manifest(storage, record.project, change, sleep=sleep)
    if not manifest.listed:
        sync_root(storage, record.project, sleep=sleep)
    return manifest.records[record.filename]
