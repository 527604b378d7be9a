"""The catalog: cached views of what storage holds, revalidated on every use.

Invariant: a cached view is used only while it is provably current: on a local
directory its change token (one ``stat``) is unchanged; on object storage it is younger
than ``pypi.index_ttl``. This process's own writes invalidate it at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable

import attrs
from cachetools import LRUCache

from ..names import NormalizedName
from ..records import STATUS_RECORD, FileRecord, ProjectFiles, ProjectStatus
from .base import Storage, Token

__all__ = ["Catalog", "IndexEntry", "ProjectEntry"]


@attrs.define
class ProjectEntry:
    """One project's records as last read, plus pages rendered from them."""

    token: Token | None
    checked_at: float
    files: ProjectFiles
    records: dict[str, tuple[Token, FileRecord]]
    pages: dict[Hashable, object] = attrs.field(factory=dict)

    @property
    def stored(self) -> bool:
        """Whether the project has (or had) any file here."""
        return bool(self.records)

    def record(self, filename: str) -> FileRecord | None:
        """The record of that filename, deleted or not."""
        found = self.records.get(filename)
        return found[1] if found is not None else None


@attrs.define
class IndexEntry:
    """The list of project names as last read, plus pages rendered from it."""

    token: Token | None
    checked_at: float
    names: tuple[str, ...]
    pages: dict[Hashable, object] = attrs.field(factory=dict)


class Catalog:
    """Reads projects and the project list from storage through in-process caches."""

    def __init__(self, storage: Storage, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._storage = storage
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._projects: LRUCache[NormalizedName, ProjectEntry] = LRUCache(maxsize=4096)
        self._index: IndexEntry | None = None

    def _fresh(self, token: Token | None, checked_at: float, current: Callable[[], Token | None]) -> bool:
        if self._storage.has_change_tokens:
            return current() == token
        return self._clock() - checked_at < self._ttl

    def index(self) -> IndexEntry:
        """Every stored project name, sorted."""
        entry = self._index
        if entry is not None and self._fresh(entry.token, entry.checked_at, self._storage.index_token):
            return entry
        token = self._storage.index_token()
        # PEP 792: quarantined projects are dropped from the list too.
        hidden = {key.rsplit("/", 1)[-1] for key in self._storage.list_blobs("quarantine/")}
        names = tuple(sorted(n for n in self._storage.list_projects() if n not in hidden))
        entry = IndexEntry(token, self._clock(), names)
        self._index = entry
        return entry

    def project(self, name: NormalizedName) -> ProjectEntry:
        """The project's current records (an empty entry when it has none)."""
        with self._lock:
            entry = self._projects.get(name)
        if entry is not None and self._fresh(
            entry.token, entry.checked_at, lambda: self._storage.project_token(name)
        ):
            return entry
        return self.reload(name, entry)

    def reload(self, name: NormalizedName, previous: ProjectEntry | None = None) -> ProjectEntry:
        """Read the project from storage, reusing unchanged records of ``previous``."""
        token = self._storage.project_token(name)
        listing = self._storage.list_records(name)
        old = previous.records if previous is not None else {}
        records: dict[str, tuple[Token, FileRecord]] = {}
        status = ProjectStatus()
        status_token = listing.pop(STATUS_RECORD, None)
        if status_token is not None:
            raw = self._storage.read_record(name, STATUS_RECORD)
            status = ProjectStatus.from_json(raw) if raw is not None else status
        changed = []
        for filename, record_token in listing.items():
            cached = old.get(filename)
            if cached is not None and cached[0] == record_token:
                records[filename] = cached
            else:
                changed.append(filename)
        for filename, data in self._storage.read_records(name, changed).items():
            records[filename] = (listing[filename], FileRecord.from_json(data))
        files = ProjectFiles.from_records(name, (r for _, r in records.values()), status)
        entry = ProjectEntry(token, self._clock(), files, records)
        with self._lock:
            self._projects[name] = entry
        return entry

    def invalidate(self, name: NormalizedName) -> None:
        """Mark the project (and the project list) stale after this process wrote to it;
        its unchanged records are reused by the next reload (one GET each on S3)."""
        with self._lock:
            entry = self._projects.get(name)
            if entry is not None:
                self._projects[name] = attrs.evolve(entry, token=None, checked_at=float("-inf"), pages={})
        self._index = None
