"""The catalog: this process's snapshots of the root listing and of project manifests.

Invariants:
1. A snapshot is immutable and swapped in by reference; readers never lock and never
   see a view being built.
2. With ``pypi.index_ttl = 0`` (the default) every use revalidates with one conditional
   read (a ``stat`` locally, a GET with ``If-None-Match`` on S3), so a change
   acknowledged anywhere is seen on the next request; a positive TTL reuses a snapshot
   that young without asking.
3. Never backwards: a snapshot replaces another only if its generation is not older,
   and a read that raced an invalidation is kept only as "revalidate before use".
4. ``fresh_index`` and ``fresh_project`` never wait and never ask the store: a snapshot
   is theirs only when it is young, or one lock-free local ``stat`` (a store's
   ``document_version``) shows the version it was read from, or (given when the request
   ``arrived``, on this catalog's clock: ``now``) the check that validated it STARTED
   after that request arrived, so it saw every write acknowledged before; else None.
5. ``checked_at`` is when the check that validated a snapshot started (-inf when it
   raced an invalidation by this process: it may predate that write).
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Hashable, Mapping

import attrs
from cachetools import LRUCache

from ..names import NormalizedName
from ..records import FileRecord, ProjectFiles, ProjectStatus
from .base import NotModified, Storage
from .manifest import ROOT_KEY, Manifest, RootListing, manifest_key
from .shared_checks import SharedChecks
from .state import add_file, read_manifest, read_root, sync_root, update_manifest

__all__ = ["Catalog", "IndexEntry", "ProjectEntry"]

_EMPTY: Mapping[str, FileRecord] = {}


@attrs.frozen(eq=False)
class ProjectEntry:
    """One project's manifest as last read, plus pages rendered from it."""

    etag: str | None
    checked_at: float
    files: ProjectFiles
    manifest: Manifest | None
    pages: dict[Hashable, object] = attrs.field(factory=dict)

    @classmethod
    def of(
        cls, name: NormalizedName, manifest: Manifest | None, etag: str | None, now: float
    ) -> ProjectEntry:
        """The entry for a manifest just read (None: the project has nothing stored)."""
        records = manifest.records.values() if manifest is not None else ()
        status = manifest.status if manifest is not None else ProjectStatus()
        return cls(etag, now, ProjectFiles.from_records(name, records, status), manifest)

    @property
    def generation(self) -> int:
        """The manifest's generation (-1 when there is none)."""
        return self.manifest.generation if self.manifest is not None else -1

    @property
    def records(self) -> Mapping[str, FileRecord]:
        """Every record by filename, deleted ones included."""
        return self.manifest.records if self.manifest is not None else _EMPTY

    @property
    def stored(self) -> bool:
        """Whether the project has (or had) any file here."""
        return bool(self.records)

    def record(self, filename: str) -> FileRecord | None:
        """The record of that filename, deleted or not."""
        return self.records.get(filename)


@attrs.frozen(eq=False)
class IndexEntry:
    """The root listing as last read, plus pages rendered from it."""

    etag: str | None
    checked_at: float
    listing: RootListing
    pages: dict[Hashable, object] = attrs.field(factory=dict)

    @property
    def names(self) -> tuple[str, ...]:
        """Every listed project name, sorted."""
        return self.listing.names


class Catalog:
    """Reads projects and the project list from storage through immutable snapshots."""

    def __init__(self, storage: Storage, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._storage = storage
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._projects: LRUCache[NormalizedName, ProjectEntry] = LRUCache(maxsize=4096)
        self._index: IndexEntry | None = None
        self._epoch = 0  # bumped by every invalidation
        self._index_checks: SharedChecks[None, IndexEntry] = SharedChecks()
        self._project_checks: SharedChecks[NormalizedName, ProjectEntry] = SharedChecks()

    @property
    def shared_reads(self) -> int:
        """Revalidations saved so far: callers answered by a read another caller sent."""
        return self._index_checks.joined + self._project_checks.joined

    @property
    def asks_store(self) -> bool:
        """Whether revalidating a snapshot is a request to the store (no local ``stat``)."""
        return getattr(self._storage, "document_version", None) is None

    def probe(self, key: str) -> Callable[[], str | None] | None:
        """The store's version of document ``key`` by one lock-free local ``stat`` (what
        a revalidation would find), or None on a store that must be asked."""
        version = getattr(self._storage, "document_version", None)
        return functools.partial(version, key) if version is not None else None

    def probe_project(self, name: NormalizedName) -> Callable[[], str | None] | None:
        """``probe`` of the project's manifest."""
        return self.probe(manifest_key(name))

    def probe_index(self) -> Callable[[], str | None] | None:
        """``probe`` of the project list."""
        return self.probe(ROOT_KEY)

    def now(self) -> float:
        """The time on this catalog's clock: what a request notes as ``arrived``."""
        return self._clock()

    def _young(self, checked_at: float) -> bool:
        return self._ttl > 0 and self._clock() - checked_at < self._ttl

    def _stamp(self, epoch: int, started: float) -> float:
        """When a read that started at ``started`` (and ``epoch``) was current: then (never,
        if it raced an invalidation: it may predate the write that invalidated)."""
        return started if self._epoch == epoch else float("-inf")

    def index(self) -> IndexEntry:
        """The root listing: every stored project name."""
        entry = self._index
        if entry is not None and self._young(entry.checked_at):
            return entry
        return self._index_checks.run(None, self._revalidate_index)

    def _revalidate_index(self) -> IndexEntry:
        entry = self._index
        epoch, started = self._epoch, self._clock()
        found = read_root(self._storage, entry.etag if entry is not None else None)
        if isinstance(found, NotModified):
            assert entry is not None
            fresh = attrs.evolve(entry, checked_at=self._stamp(epoch, started))
        else:
            fresh = IndexEntry(found[1], self._stamp(epoch, started), found[0])
        with self._lock:
            current = self._index
            if current is None or current.listing.generation <= fresh.listing.generation:
                self._index = fresh
        return fresh

    def fresh_index(self, arrived: float | None = None) -> IndexEntry | None:
        """The root listing's snapshot if it is current without a storage request (for a
        request that ``arrived`` then, if given), else None."""
        entry = self._index
        if entry is None or not self._current(entry.checked_at, entry.etag, ROOT_KEY, arrived):
            return None
        return entry

    def peek_index(self) -> IndexEntry | None:
        """The root listing as last read, whatever its age, or None (also when this process
        changed it since); never reads storage or waits."""
        entry = self._index
        return entry if entry is not None and entry.checked_at != float("-inf") else None

    def fresh_project(self, name: NormalizedName, arrived: float | None = None) -> ProjectEntry | None:
        """The project's snapshot if it is current without a storage request (for a
        request that ``arrived`` then, if given), else None."""
        if not self._lock.acquire(blocking=False):
            return None  # a writer is swapping snapshots: the ordinary path will wait for it
        try:
            entry = self._projects.get(name)
        finally:
            self._lock.release()
        if entry is None or not self._current(entry.checked_at, entry.etag, manifest_key(name), arrived):
            return None
        return entry

    def _current(self, checked_at: float, etag: str | None, key: str, arrived: float | None) -> bool:
        """Young, or validated by a check that started after the request arrived, or the
        version a revalidation would find by one local ``stat``."""
        if self._young(checked_at) or (arrived is not None and checked_at > arrived):
            return True
        version = getattr(self._storage, "document_version", None)
        return etag is not None and version is not None and version(key) == etag

    def _complete(self) -> bool:
        """Whether every project has a manifest (a store upgraded from layout v1)."""
        entry = self._index
        return (entry if entry is not None else self.index()).listing.complete

    def project(self, name: NormalizedName) -> ProjectEntry:
        """The project's current manifest (an empty entry when it has none)."""
        with self._lock:
            entry = self._projects.get(name)
        if entry is not None and self._young(entry.checked_at):
            return entry
        return self.reload(name, entry)

    def peek(self, name: NormalizedName) -> ProjectEntry | None:
        """The project as last read, whatever its age, or None (also when this process
        changed it since, or a writer is swapping snapshots); never reads storage or waits."""
        if not self._lock.acquire(blocking=False):
            return None
        try:
            entry = self._projects.get(name)
        finally:
            self._lock.release()
        return entry if entry is not None and entry.checked_at != float("-inf") else None

    def reload(self, name: NormalizedName, previous: ProjectEntry | None = None) -> ProjectEntry:
        """Revalidate the project now (one conditional read, shared with concurrent
        callers), whatever its age."""
        return self._project_checks.run(name, lambda: self._revalidate(name, previous))

    def _revalidate(self, name: NormalizedName, previous: ProjectEntry | None) -> ProjectEntry:
        if previous is None:
            with self._lock:
                previous = self._projects.get(name)
        epoch, started = self._epoch, self._clock()
        complete = self._complete()
        found = read_manifest(self._storage, name, previous.etag if previous else None, complete=complete)
        if isinstance(found, NotModified):
            assert previous is not None
            entry = attrs.evolve(previous, checked_at=self._stamp(epoch, started))
        else:
            manifest, etag = found
            if manifest is not None and manifest.records and not manifest.listed:
                # The writer died before the project list named it (or is about to):
                # readers repair it, idempotently. A manifest holding only cooldown
                # exemptions names no project yet (its first file lists it).
                sync_root(self._storage, name)
                self.invalidate(name)
            entry = ProjectEntry.of(name, manifest, etag, self._stamp(epoch, started))
        return self._install(name, entry)

    def _install(self, name: NormalizedName, entry: ProjectEntry) -> ProjectEntry:
        with self._lock:
            current = self._projects.get(name)
            if current is not None and current.generation > entry.generation:
                return current  # a slower read of an older version: keep the newer one
            self._projects[name] = entry
        return entry

    def update(self, name: NormalizedName, change: Callable[[Manifest], Manifest]) -> ProjectEntry:
        """Change the project's manifest by compare-and-swap and keep the result."""
        manifest, etag = update_manifest(self._storage, name, change)
        self.invalidate(name)
        return self._install(name, ProjectEntry.of(name, manifest, etag or None, float("-inf")))

    def repair(self, name: NormalizedName, filename: str) -> ProjectEntry | None:
        """A file whose record exists but which its manifest lacks (a crash between the
        two writes) is added; None when there is no such record."""
        data = self._storage.read_record(name, filename)
        if data is None:
            return None
        add_file(self._storage, FileRecord.from_json(data))
        self.invalidate(name)
        return self.reload(name)

    def invalidate(self, name: NormalizedName) -> None:
        """Revalidate the project and the project list on their next use (after this
        process wrote to them); reads in flight are kept only as stale."""
        with self._lock:
            self._epoch += 1
            entry = self._projects.get(name)
            if entry is not None:
                self._projects[name] = attrs.evolve(entry, checked_at=float("-inf"))
            if self._index is not None:
                self._index = attrs.evolve(self._index, checked_at=float("-inf"))
