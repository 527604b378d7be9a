"""What an upstream project page lists, as values: ``UpstreamProject`` and its ``UpstreamFile``s.

Parsed by ``pages``, checked by ``fields``, kept fresh by ``mirror``; credentials in a
file's URL never show in a repr.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from ..config_values import mask_url

__all__ = ["UpstreamFile", "UpstreamProject"]


@attrs.frozen
class UpstreamFile:
    """One file an upstream project page lists."""

    filename: str
    url: str = attrs.field(repr=mask_url)
    hashes: Mapping[str, str] = attrs.field(factory=dict)
    requires_python: str | None = None
    yanked: bool = False
    yanked_reason: str = ""
    size: int | None = None
    upload_time: str | None = None
    metadata_sha256: str | None = None
    has_metadata: bool = False
    # PEP 740: where the upstream serves the file's provenance object (checked in ``fields``).
    provenance: str | None = None

    @property
    def sha256(self) -> str | None:
        """The advertised sha256, if any."""
        return self.hashes.get("sha256")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (for the stored copy of a mirrored page)."""
        return attrs.asdict(self)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> UpstreamFile:
        """Read back ``to_dict``."""
        names = {a.name for a in attrs.fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in names})


@attrs.frozen
class UpstreamProject:
    """An upstream project page, parsed."""

    name: str
    files: tuple[UpstreamFile, ...]
