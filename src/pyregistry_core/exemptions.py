"""Cooldown exemptions an admin grants to one upstream file or one version of a project.

Rules (issue "Supply-chain policy at the proxy"):
1. An exemption names exactly one file (a distribution filename whose name part
   normalizes to the project) or one PEP 440 version, never a glob or a whole project
   (whole projects are ``pypi.upstream_min_age_exempt``, in the config).
2. It lets what it names through the release cooldown, nothing else: the allow and deny
   lists, hash checks and permissions still apply.
3. Exemptions live in the project's manifest, so a grant or a revocation acknowledged by
   any replica is honoured on the next request everywhere. Revoking one holds back again
   what is not cached yet; a file cached while exempt stays served, as files cached
   before the policy was enabled do.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

import attrs
from packaging.version import InvalidVersion, Version

from .dists import DistFilename
from .errors import InvalidUpload
from .names import NormalizedName
from .records import same_version

__all__ = ["MAX_REASON", "Exemption", "covering", "exemption_target", "exemptions_from_json"]

MAX_REASON = 1000
_MAX_TARGET = 255


def exemption_target(project: NormalizedName, target: str) -> tuple[str, str]:
    """``("file", filename)`` or ``("version", version)`` for what ``target`` names in
    ``project`` (rule 1); raises ``InvalidUpload`` (400) naming what is wrong."""
    if (
        not target
        or len(target) > _MAX_TARGET
        or any(c in target for c in "/\\ ")
        or not target.isprintable()
    ):
        raise InvalidUpload(f"{target!r} is neither a filename of {project!r} nor a version.")
    dist = DistFilename.from_any_filename(target)
    if dist is not None:
        if dist.name != project:
            raise InvalidUpload(f"The file {target!r} does not belong to project {project!r}.")
        return "file", target
    try:
        Version(target)
    except InvalidVersion:
        raise InvalidUpload(f"{target!r} is neither a filename of {project!r} nor a version.") from None
    return "version", target


@attrs.frozen
class Exemption:
    """One admin's exemption of a file or a version from the release cooldown."""

    target: str  # a filename, or a version as the admin spelt it
    kind: str  # "file" or "version"
    actor: str  # who granted it
    granted: float  # POSIX time
    reason: str = ""

    def covers(self, filename: str, version: str) -> bool:
        """Whether this exemption lets the upstream file ``filename`` through."""
        if self.kind == "file":
            return filename == self.target
        return same_version(version, self.target)

    def why(self) -> str:
        """A person's explanation of why a file the cooldown holds back is served."""
        when = datetime.fromtimestamp(self.granted, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        because = f": {self.reason}" if self.reason else ""
        return f"exempted from the release cooldown by {self.actor} at {when}{because}"

    def to_json(self) -> dict[str, Any]:
        """The JSON object stored in the manifest and shown by the management API."""
        return {
            "target": self.target,
            "kind": self.kind,
            "actor": self.actor,
            "granted": datetime.fromtimestamp(self.granted, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "reason": self.reason,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Exemption:
        """Read one stored exemption (raises ``ValueError``/``KeyError`` when malformed)."""
        kind = str(raw["kind"])
        if kind not in ("file", "version"):
            raise ValueError(f"unknown exemption kind {kind!r}")
        granted = datetime.fromisoformat(str(raw["granted"]).replace("Z", "+00:00")).timestamp()
        return cls(str(raw["target"]), kind, str(raw["actor"]), granted, str(raw.get("reason", "")))


def exemptions_from_json(raw: object) -> dict[str, Exemption]:
    """The exemptions a stored manifest holds, by target; malformed entries are skipped."""
    found: dict[str, Exemption] = {}
    for entry in raw if isinstance(raw, list) else ():
        try:
            exemption = Exemption.from_json(entry)
        except (ValueError, KeyError, TypeError):
            continue
        found[exemption.target] = exemption
    return found


def covering(exemptions: Iterable[Exemption], filename: str, version: str) -> Exemption | None:
    """The first exemption that lets ``filename`` (of ``version``) through, if any."""
    return next((e for e in exemptions if e.covers(filename, version)), None)
