"""Per-file page fragments, rendered once per file record and kept for the next page.

A project page is one pass over its files' fragments (``render.py``). After an upload
the project's manifest is read again, so every record is a new object; fragments are
therefore kept by project and filename and reused while the record is *equal* to the
one they were rendered from (a yank or a delete writes a different record, so its
fragment is rendered again).

Invariants:
1. A fragment is a pure function of its record (and the registry's fixed ``public_url``):
   reusing one never changes a page's bytes.
2. Bounded: fragments of at most ``max_projects`` projects are kept (least recently
   rendered first out); a project holds at most one fragment per filename and format.
3. No lock is held while rendering; a race renders a fragment twice, harmlessly.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from cachetools import LRUCache

from . import render
from .names import NormalizedName
from .records import FileRecord

__all__ = ["FileFragments", "ProjectFragments"]

_Kept = dict[str, tuple[FileRecord, str]]


class ProjectFragments:
    """One project's kept fragments: ``anchor`` (HTML) and ``entry`` (JSON) by record."""

    def __init__(self, public_url: str | None = None) -> None:
        self._anchors: _Kept = {}
        self._entries: _Kept = {}
        self._public_url = public_url

    def anchor(self, record: FileRecord) -> str:
        """The record's HTML ``<a>`` line, rendered once."""
        return _kept(self._anchors, record, lambda r: render.file_anchor(r, self._public_url))

    def entry(self, record: FileRecord) -> str:
        """The record's JSON object, rendered once."""
        return _kept(self._entries, record, lambda r: render.file_json(r, self._public_url))


def _kept(kept: _Kept, record: FileRecord, make: Callable[[FileRecord], str]) -> str:
    found = kept.get(record.filename)
    if found is not None and (found[0] is record or found[0] == record):
        return found[1]
    fragment = make(record)
    kept[record.filename] = (record, fragment)
    return fragment


class FileFragments:
    """The fragments of recently rendered projects (bounded by project count)."""

    def __init__(self, max_projects: int = 1024, public_url: str | None = None) -> None:
        self._projects: LRUCache[NormalizedName, ProjectFragments] = LRUCache(maxsize=max_projects)
        self._public_url = public_url  # pypi.public_url, for PEP 740 provenance URLs
        self._lock = threading.Lock()

    def project(self, name: NormalizedName) -> ProjectFragments:
        """The kept fragments of ``name`` (a new, empty set the first time)."""
        with self._lock:
            found = self._projects.get(name)
            if found is None:
                found = self._projects[name] = ProjectFragments(self._public_url)
            return found
