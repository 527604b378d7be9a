"""What the index knows about each stored file: one immutable ``FileRecord`` per file.

A record is stored as JSON next to the project's other records (see ``storage.py``);
yanking or deleting writes a new record with ``attrs.evolve``, never edits one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

import attrs
from packaging.utils import NormalizedName
from packaging.version import InvalidVersion, Version

__all__ = [
    "FileRecord",
    "Origin",
    "ProjectFiles",
    "highest_version",
    "is_prerelease",
    "same_version",
    "version_order",
]


class Origin:
    """Where a file came from: a private upload or the upstream index."""

    UPLOAD = "upload"
    UPSTREAM = "upstream"


@attrs.frozen
class FileRecord:
    """One distribution file of a project, as stored and as listed."""

    project: NormalizedName
    filename: str
    version: str
    kind: str
    size: int | None  # None only for upstream files not yet cached whose size is unknown
    sha256: str
    upload_time: str | None  # PEP 700: yyyy-mm-ddThh:mm:ss.ffffffZ (UTC)
    blake2b_256: str | None = None
    md5: str | None = None
    requires_python: str | None = None
    metadata_sha256: str | None = None
    python_tag: str = "source"
    summary: str | None = None
    yanked: bool = False
    yanked_reason: str = ""
    origin: str = Origin.UPLOAD
    uploader: str | None = None
    deleted: bool = False
    # Upstream files listed but not stored: where they are (redirect mode links there).
    external_url: str | None = None
    # PEP 740: the sha256 of the provenance object stored beside the file; "-" for an
    # upstream file not stored here whose upstream offers one (fetched when asked for);
    # None: no provenance. Uploaded attestations never set it (they are not verified).
    provenance_sha256: str | None = None

    @property
    def blob_key(self) -> str:
        """Where the file's bytes are stored."""
        return f"files/{self.project}/{self.sha256}/{self.filename}"

    @property
    def url_path(self) -> str:
        """The file's URL path relative to the registry root (no leading slash).

        The filename is percent-encoded: a "#", "?" or "%" must not end or alter the URL
        (uploads cannot have them, files mirrored from an upstream might).
        """
        return f"files/{self.project}/{self.sha256}/{quote(self.filename, safe='!+')}"

    @property
    def parsed_version(self) -> Version | None:
        """The version as packaging parses it (None for legacy non-PEP 440 versions)."""
        try:
            return Version(self.version)
        except InvalidVersion:
            return None

    def to_json(self) -> bytes:
        """Serialize for storage."""
        return json.dumps(attrs.asdict(self), sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> FileRecord:
        """Read a stored record; unknown keys from newer versions are ignored."""
        raw: dict[str, Any] = json.loads(data)
        names = {a.name for a in attrs.fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in names})


def version_order(version: str) -> tuple[int, Version | str]:
    """A sort key for version strings: PEP 440 order, legacy versions below every valid one."""
    try:
        return (1, Version(version))
    except InvalidVersion:
        return (0, version)


def same_version(version: str, requested: str) -> bool:
    """Whether ``requested`` names ``version``: the same spelling or, both PEP 440, the same
    version (``1.0`` is ``1.0.0``)."""
    if version == requested:
        return True
    try:
        return Version(version) == Version(requested)
    except InvalidVersion:
        return False


def is_prerelease(version: str) -> bool:
    """Whether a version is a PEP 440 pre- or dev release (a legacy version is not)."""
    try:
        return Version(version).is_prerelease
    except InvalidVersion:
        return False


def highest_version(versions: Iterable[str], *, final: bool = False) -> str | None:
    """The highest PEP 440 version of ``versions`` (legacy spellings left out), or only of
    its final releases when ``final``; None when there is none."""
    valid = [v for v in versions if version_order(v)[0] and not (final and is_prerelease(v))]
    return max(valid, key=version_order, default=None)


STATUS_RECORD = "~status"  # a record name no distribution filename can have


@attrs.frozen
class ProjectStatus:
    """PEP 792 project status: ``active``, ``archived``, ``quarantined`` or ``deprecated``."""

    status: str = "active"
    reason: str = ""

    STATES = ("active", "archived", "quarantined", "deprecated")

    @property
    def refuses_uploads(self) -> bool:
        """PEP 792: archived and quarantined projects MUST refuse uploads."""
        return self.status in ("archived", "quarantined")

    @property
    def hides_files(self) -> bool:
        """PEP 792: a quarantined project MUST NOT offer files."""
        return self.status == "quarantined"

    def to_json(self) -> bytes:
        """Serialize for storage."""
        return json.dumps({"status": self.status, "reason": self.reason}).encode()

    @classmethod
    def from_json(cls, data: bytes) -> ProjectStatus:
        """Read a stored status."""
        raw = json.loads(data)
        return cls(str(raw.get("status", "active")), str(raw.get("reason", "")))


@attrs.frozen
class ProjectFiles:
    """The listed (not deleted) files of one project, sorted by version then filename."""

    name: NormalizedName
    files: tuple[FileRecord, ...]
    has_private_files: bool = False
    status: ProjectStatus = ProjectStatus()
    # Upstream files the release cooldown holds back: (filename, version, why), for people.
    held_back: tuple[tuple[str, str, str], ...] = ()
    # Upstream files listed only because an admin exempted them: (filename, version, why).
    exempted: tuple[tuple[str, str, str], ...] = ()

    @classmethod
    def from_records(
        cls, name: NormalizedName, records: Iterable[FileRecord], status: ProjectStatus = ProjectStatus()
    ) -> ProjectFiles:
        """Order live records the way PyPI does; remember if any was ever uploaded.

        Once a project is private its cached upstream files are no longer listed
        (DESIGN.md → Mirrored vs private: a squatter's file cached first never mixes in).
        """
        records = list(records)
        private = any(r.origin == Origin.UPLOAD for r in records)
        live = sorted(
            (r for r in records if not r.deleted and (not private or r.origin == Origin.UPLOAD)),
            key=lambda r: (version_order(r.version), r.filename),
        )
        if status.hides_files:
            live = []
        return cls(name, tuple(live), private, status)

    def merged_with(self, upstream: Iterable[FileRecord]) -> ProjectFiles:
        """These files plus upstream ones whose filenames we do not hold."""
        held = {r.filename for r in self.files}
        extra = [r for r in upstream if r.filename not in held]
        files = sorted((*self.files, *extra), key=lambda r: (version_order(r.version), r.filename))
        return attrs.evolve(self, files=tuple(files))

    @property
    def versions(self) -> tuple[str, ...]:
        """Every version with at least one file, oldest first (PEP 700 ``versions``)."""
        seen: dict[str, None] = {}
        for record in self.files:
            seen.setdefault(record.version, None)
        return tuple(seen)

    def latest_version(self) -> str | None:
        """PyPI's pick: the highest non-yanked final release, else the highest non-yanked,
        else the highest at all (None when there are no files)."""
        if not self.files:
            return None
        live = [r.version for r in self.files if not r.yanked]
        return highest_version(live, final=True) or max(
            live or [r.version for r in self.files], key=version_order
        )

    def release(self, version: str) -> list[FileRecord]:
        """The files of one version (exactly that spelling)."""
        return [r for r in self.files if r.version == version]

    def releases_newest_first(self) -> list[tuple[str, list[FileRecord]]]:
        """Files grouped by version, newest version first."""
        groups: dict[str, list[FileRecord]] = {}
        for record in self.files:
            groups.setdefault(record.version, []).append(record)
        return sorted(groups.items(), key=lambda item: version_order(item[0]), reverse=True)

    def find(self, filename: str) -> FileRecord | None:
        """The live file of that exact name, if the project has it."""
        for record in self.files:
            if record.filename == filename:
                return record
        return None
