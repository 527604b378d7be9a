"""Admins exempt one upstream file or one version from the release cooldown (and revoke).

Invariants:
1. Only an admin (or the operator at the command line) grants, revokes or lists
   exemptions: anyone else gets 401 (anonymous) or 403, before anything is read.
2. A change is a pure function of the project's manifest applied by compare-and-swap
   (``storage/state.py``), so every replica honours it on its next request and racing
   changes end as one of their serial orders.

The edges audit each grant and revocation (``web/audit_trail.py``, the CLI's trail).
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from ..acl import Identity
from ..errors import ExemptionNotFound, InvalidUpload
from ..exemptions import MAX_REASON, Exemption, exemption_target
from ..names import NormalizedName
from ..records import same_version
from ..storage.catalog import Catalog
from ..storage.manifest import Manifest
from .permissions import Permissions, refusal

__all__ = ["CooldownExemptions"]


@attrs.frozen
class CooldownExemptions:
    """Grants, revokes and lists exemptions from the release cooldown."""

    permissions: Permissions
    catalog: Catalog
    wall_clock: Callable[[], float]

    def _require_admin(self, identity: Identity) -> None:
        """Invariant 1; a read-only token or a trusted publisher's token is not an admin's hand."""
        if identity.operator:
            return
        admin = self.permissions.is_admin(identity)
        if admin and identity.token_scope != "read" and identity.publisher is None:
            return
        raise refusal(identity, "Only an admin may manage exemptions from the release cooldown.")

    def listed(self, identity: Identity, project: NormalizedName) -> list[Exemption]:
        """The project's exemptions, sorted by target."""
        self._require_admin(identity)
        manifest = self.catalog.project(project).manifest
        return [] if manifest is None else [e for _, e in sorted(manifest.exemptions.items())]

    def grant(self, identity: Identity, project: NormalizedName, target: str, reason: str = "") -> Exemption:
        """Exempt the file or version ``target`` names; granting it again replaces it."""
        self._require_admin(identity)
        kind, target = exemption_target(project, target)
        if len(reason) > MAX_REASON or not reason.isprintable():
            raise InvalidUpload(f"The reason must be one line of at most {MAX_REASON} characters.")
        exemption = Exemption(target, kind, identity.user or "operator", self.wall_clock(), reason)
        self.catalog.update(project, lambda m: m.with_exemption(exemption))
        return exemption

    def revoke(self, identity: Identity, project: NormalizedName, target: str) -> list[Exemption]:
        """Revoke the exemptions ``target`` names (a filename, or a version in any spelling)."""
        self._require_admin(identity)
        revoked: list[Exemption] = []

        def change(manifest: Manifest) -> Manifest:
            revoked.clear()  # a retry starts again from a newer manifest
            revoked.extend(e for e in manifest.exemptions.values() if _names(e, target))
            if not revoked:
                raise ExemptionNotFound(project, target)
            return manifest.without_exemptions(e.target for e in revoked)

        self.catalog.update(project, change)
        return revoked


def _names(exemption: Exemption, target: str) -> bool:
    """Whether a revocation of ``target`` names ``exemption``."""
    if exemption.kind == "file":
        return exemption.target == target
    return same_version(exemption.target, target)
