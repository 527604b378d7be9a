"""Layout v2: the compacted per-project manifest and the root listing of projects.

Keys under the store's root (next to layout v1's create-only records, which stay the
commit point for filenames):

    projects.json              the root listing: every project name, the hidden ones
    manifests/<project>.json   a project's manifest: every record, its status, yanks,
                               tombstones

Invariants:
1. Both documents change only by compare-and-swap on the store's own version (ETag,
   a stat on a local disk) and each change adds one to ``generation``: a reader that
   holds generation N never swaps in anything older.
2. A manifest never forgets a filename: a deleted file stays as a tombstone, so its
   filename stays burnt whatever else happens.
3. A manifest may lag the create-only records (a crash between the two writes), never
   lead them; whoever notices (an upload's retry, a download, ``fsck``) adds the record.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

import attrs

from ..exemptions import Exemption, exemptions_from_json
from ..names import NormalizedName
from ..records import FileRecord, ProjectStatus

__all__ = ["FORMAT", "ROOT_KEY", "Manifest", "RootListing", "manifest_key"]

FORMAT = 2
ROOT_KEY = "projects.json"


def manifest_key(project: NormalizedName) -> str:
    """The storage key of a project's manifest."""
    return f"manifests/{project}.json"


def _frozen(records: Mapping[str, FileRecord]) -> Mapping[str, FileRecord]:
    return MappingProxyType(dict(records))


def _frozen_exemptions(exemptions: Mapping[str, Exemption]) -> Mapping[str, Exemption]:
    return MappingProxyType(dict(exemptions))


@attrs.frozen
class Manifest:
    """Everything stored about one project, as one immutable value."""

    project: NormalizedName
    records: Mapping[str, FileRecord] = attrs.field(factory=dict, converter=_frozen)
    status: ProjectStatus = attrs.field(factory=ProjectStatus)
    generation: int = 0
    # False until the root listing names the project (set once the listing says so).
    listed: bool = False
    # Admins' exemptions from the release cooldown, by target (``exemptions.py``).
    exemptions: Mapping[str, Exemption] = attrs.field(factory=dict, converter=_frozen_exemptions)

    def with_record(self, record: FileRecord) -> Manifest:
        """This manifest with ``record`` set (a new file, a yank or a tombstone)."""
        return attrs.evolve(self, records={**self.records, record.filename: record})

    def with_status(self, status: ProjectStatus) -> Manifest:
        """This manifest with another PEP 792 status."""
        return attrs.evolve(self, status=status)

    def with_exemption(self, exemption: Exemption) -> Manifest:
        """This manifest with ``exemption`` granted (replacing one of the same target)."""
        return attrs.evolve(self, exemptions={**self.exemptions, exemption.target: exemption})

    def without_exemptions(self, targets: Iterable[str]) -> Manifest:
        """This manifest with the exemptions of those targets revoked."""
        gone = set(targets)
        return attrs.evolve(self, exemptions={t: e for t, e in self.exemptions.items() if t not in gone})

    def next(self) -> Manifest:
        """The value to write over this one (one generation later)."""
        return attrs.evolve(self, generation=self.generation + 1)

    def to_json(self) -> bytes:
        """Serialize for storage."""
        document: dict[str, Any] = {
            "format": FORMAT,
            "project": self.project,
            "generation": self.generation,
            "listed": self.listed,
            "status": {"status": self.status.status, "reason": self.status.reason},
            "files": {name: attrs.asdict(r) for name, r in sorted(self.records.items())},
        }
        if self.exemptions:
            document["exemptions"] = [e.to_json() for _, e in sorted(self.exemptions.items())]
        return json.dumps(document, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        """Read a stored manifest; unknown keys from newer versions are ignored."""
        raw: dict[str, Any] = json.loads(data)
        names = {a.name for a in attrs.fields(FileRecord)}
        records = {
            filename: FileRecord(**{k: v for k, v in fields.items() if k in names})
            for filename, fields in raw.get("files", {}).items()
        }
        status = raw.get("status") or {}
        return cls(
            project=NormalizedName(raw["project"]),
            records=records,
            status=ProjectStatus(str(status.get("status", "active")), str(status.get("reason", ""))),
            generation=int(raw.get("generation", 0)),
            listed=bool(raw.get("listed", False)),
            exemptions=exemptions_from_json(raw.get("exemptions")),
        )

    @classmethod
    def from_records(
        cls, project: NormalizedName, records: Iterable[FileRecord], status: ProjectStatus
    ) -> Manifest:
        """A first manifest compacted from layout v1's records."""
        return cls(project, {r.filename: r for r in records}, status)


@attrs.frozen
class RootListing:
    """Every project name, which of them are hidden (PEP 792 quarantine), and whether
    every project has a manifest (``complete``: a missing manifest means no project)."""

    projects: frozenset[str] = frozenset()
    hidden: frozenset[str] = frozenset()
    complete: bool = True
    generation: int = 0

    @property
    def names(self) -> tuple[str, ...]:
        """The listed project names, sorted (PEP 792: quarantined ones are left out)."""
        return tuple(sorted(self.projects - self.hidden))

    def with_project(self, project: NormalizedName, *, hidden: bool) -> RootListing:
        """This listing naming ``project``, hidden or not."""
        hidden_names = self.hidden | {project} if hidden else self.hidden - {project}
        return attrs.evolve(self, projects=self.projects | {project}, hidden=hidden_names)

    def next(self) -> RootListing:
        """The value to write over this one (one generation later)."""
        return attrs.evolve(self, generation=self.generation + 1)

    def to_json(self) -> bytes:
        """Serialize for storage."""
        return json.dumps(
            {
                "format": FORMAT,
                "generation": self.generation,
                "complete": self.complete,
                "projects": sorted(self.projects),
                "hidden": sorted(self.hidden),
            },
            separators=(",", ":"),
        ).encode()

    @classmethod
    def from_json(cls, data: bytes) -> RootListing:
        """Read a stored root listing."""
        raw: dict[str, Any] = json.loads(data)
        return cls(
            frozenset(raw.get("projects", ())),
            frozenset(raw.get("hidden", ())),
            bool(raw.get("complete", False)),
            int(raw.get("generation", 0)),
        )
