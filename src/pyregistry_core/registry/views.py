"""Views: what a caller sees of a project, after the read check and the fallback rules.

Invariants:
1. The read check on the project's own name comes first; only then does
   ``fallback.decide`` pick local files, a redirect, the upstream's files merged in, or
   nothing — and a name reaches the upstream only when it says MERGE.
2. A failing upstream never hides what we hold (serve-stale); with nothing stored,
   its failure is the answer.
3. A merged view depends only on the stored entry and one upstream listing, so it is
   built once per listing (until the release cooldown lets another file in).
4. ``cached_view`` decides exactly as ``view`` does, from a snapshot the catalog calls
   current without I/O; whatever would need the store or the upstream is None.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from ..acl import Identity, Permission
from ..errors import AuthenticationRequired, ProjectNotFound, RegistryError
from ..fallback import Action, FallbackPolicy, decide
from ..metrics import Metrics
from ..names import NormalizedName
from ..records import Origin, ProjectFiles
from ..storage.catalog import Catalog, ProjectEntry
from ..upstream.mirror import Listing, Mirror
from ..upstream_policy import UpstreamPolicy
from .permissions import Permissions
from .publish import upstream_record
from .results import UpstreamRedirect

__all__ = ["View", "Views"]


@attrs.frozen
class View:
    """What a caller sees of a project, and what it was built from (for page caching)."""

    files: ProjectFiles
    entry: ProjectEntry
    listing: Listing | None = None
    valid_until: float = float("inf")  # the release cooldown lets the next file in then


@attrs.frozen
class Views:
    """Builds ``View`` values; the part that applies the fallback truth table."""

    permissions: Permissions
    catalog: Catalog
    fallback: FallbackPolicy
    mirror: Mirror | None
    upstream_policy: UpstreamPolicy
    metrics: Metrics
    wall_clock: Callable[[], float]

    def view(self, identity: Identity, project: NormalizedName) -> View | UpstreamRedirect:
        """What the caller sees of ``project`` (raises 401/403/404 as DESIGN.md's table)."""
        self.permissions.require(identity, Permission.READ, project)
        entry = self.catalog.project(project)
        action = self._action(identity, project, entry)
        if not entry.files.has_private_files and self.fallback.denies(project):
            self.metrics.count_policy("denied")  # the allow/deny lists kept it from the upstream
        if action is Action.LOCAL and entry.stored:
            return View(entry.files, entry)
        if action is Action.REDIRECT and self.mirror is not None:
            return UpstreamRedirect.to_project(project, self.mirror.upstream)
        if action is Action.UNAUTHORIZED and identity.user is None:
            raise AuthenticationRequired("Authentication required to fetch projects from the upstream index.")
        if action is not Action.MERGE or self.mirror is None:
            raise ProjectNotFound(project)
        return self._with_upstream(project, entry, self.mirror)

    def cached_view(
        self, identity: Identity, project: NormalizedName, arrived: float | None = None
    ) -> View | UpstreamRedirect | None:
        """What ``view`` answers when that needs no I/O (local files of a snapshot that is
        current without asking the store, for a request that ``arrived`` then if given, or
        a redirect); None otherwise."""
        self.permissions.require(identity, Permission.READ, project)
        entry = self.catalog.fresh_project(project, arrived)
        if entry is None:
            return None
        action = self._action(identity, project, entry)
        if action is Action.LOCAL and entry.stored:
            return View(entry.files, entry)
        if action is Action.REDIRECT and self.mirror is not None:
            return UpstreamRedirect.to_project(project, self.mirror.upstream)
        return None

    def _action(self, identity: Identity, project: NormalizedName, entry: ProjectEntry) -> Action:
        return decide(
            self.fallback,
            project,
            stored=entry.stored,
            private=entry.files.has_private_files,
            may_cache_update=self.permissions.may(identity, Permission.CACHE_UPDATE, project),
        )

    def files(self, identity: Identity, project: NormalizedName) -> ProjectFiles | UpstreamRedirect:
        """The files the caller sees in ``project``."""
        view = self.view(identity, project)
        return view if isinstance(view, UpstreamRedirect) else view.files

    def upstream_state(self) -> dict[str, object]:
        """What /health says of the upstream: configured or not, and the last outcome."""
        if self.mirror is None:
            return {"configured": False}
        policy = self.upstream_policy.describe()
        return {"configured": True, "mode": self.fallback.mode, **self.mirror.state(), "policy": policy}

    def _with_upstream(self, project: NormalizedName, entry: ProjectEntry, mirror: Mirror) -> View:
        try:
            listing = mirror.listing(project)
        except RegistryError:
            if entry.stored:  # serve-stale: what we hold is still right
                return View(entry.files, entry)
            raise
        if listing is None:
            if entry.stored:
                return View(entry.files, entry)
            raise ProjectNotFound(project)
        cached = entry.pages.get(("view", id(listing)))
        if isinstance(cached, View) and cached.listing is listing and self.wall_clock() < cached.valid_until:
            return cached
        view = self._merged(project, entry, listing)
        entry.pages[("view", id(listing))] = view
        return view

    def _merged(self, project: NormalizedName, entry: ProjectEntry, listing: Listing) -> View:
        """Our files plus the upstream's, with the upstream's current yanked state."""
        external = self.fallback.mode == "redirect"  # upstream files are linked where they live
        held = {r.filename for r in entry.files.files}
        policy = self.upstream_policy
        fresh = [
            upstream_record(project, f, external) for f in listing.project.files if f.filename not in held
        ]
        exemptions = entry.manifest.exemptions.values() if entry.manifest is not None else ()
        cooldown = policy.hold_back(project, fresh, self.wall_clock(), exemptions)
        self.metrics.count_policy("held_back", len(cooldown.held))
        self.metrics.count_policy("exempted", len(cooldown.exempted))
        files = entry.files.merged_with(cooldown.visible)
        # The upstream's current yanked state wins for files we cached earlier.
        upstream = {f.filename: f for f in listing.project.files}
        files = attrs.evolve(
            files,
            files=tuple(
                attrs.evolve(
                    r, yanked=upstream[r.filename].yanked, yanked_reason=upstream[r.filename].yanked_reason
                )
                if r.origin == Origin.UPSTREAM and r.filename in upstream
                else r
                for r in files.files
            ),
            held_back=tuple((h.filename, h.version, policy.why(h)) for h in cooldown.held),
            exempted=cooldown.exempted,
        )
        return View(files, entry, listing, cooldown.valid_until)
