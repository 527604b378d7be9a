"""Fallback policy: what to do for a project name, as a pure function (no I/O).

pypicloud's truth table with its holes closed (PYPICLOUD.md, DESIGN.md → Fallback):
1. A caller without read is refused (401/403) before any fallback is considered.
2. A private project (any upload, ever) never falls back and its name is never sent
   upstream, unless it is named in ``always_show_upstream`` and not disallowed.
3. ``disallow_fallback`` and ``pypi.upstream_deny`` apply to everyone, admins included,
   and are checked before any upstream request; so is ``pypi.upstream_allow`` when set.
   A name refused by them behaves as an absent one in ``none`` mode.
"""

from __future__ import annotations

import enum

import attrs

from .names import NormalizedName
from .upstream_policy import UpstreamPolicy

__all__ = ["Action", "FallbackPolicy", "decide"]


class Action(enum.Enum):
    """What to answer for a project page."""

    LOCAL = "local"  # our own files only
    MERGE = "merge"  # our files plus the upstream's (listed, fetched on demand)
    REDIRECT = "redirect"  # 302 to the upstream's page
    NOT_FOUND = "not_found"  # 404 (or 401 for anonymous callers without cache rights)
    UNAUTHORIZED = "unauthorized"  # cache mode, absent name, caller may not cache: 401/404


@attrs.frozen
class FallbackPolicy:
    """The fallback settings, with names normalized."""

    mode: str = "none"
    always_show_upstream: bool = False
    always_show_names: frozenset[NormalizedName] = frozenset()
    disallowed: frozenset[NormalizedName] = frozenset()
    # pypi.upstream_allow / pypi.upstream_deny (names and globs): checked like disallowed.
    names: UpstreamPolicy = attrs.field(factory=UpstreamPolicy)

    def denies(self, name: NormalizedName) -> bool:
        """Whether rule 3 keeps ``name`` from the upstream that this mode would ask."""
        if self.mode == "none":
            return False
        return name in self.disallowed or not self.names.may_fetch(name)

    def may_ask_upstream(self, name: NormalizedName, private: bool) -> bool:
        """Whether ``name`` may ever be sent upstream."""
        if self.mode == "none" or name in self.disallowed or not self.names.may_fetch(name):
            return False
        return not private or name in self.always_show_names


def decide(
    policy: FallbackPolicy,
    name: NormalizedName,
    *,
    stored: bool,
    private: bool,
    may_cache_update: bool,
) -> Action:
    """The action for a caller who may read ``name`` (rule 1 is the caller's job)."""
    upstream_ok = policy.may_ask_upstream(name, private)
    if stored:
        if private:
            return Action.MERGE if upstream_ok else Action.LOCAL
        # Mirrored (only cached upstream files): keep following the upstream in cache mode.
        if policy.mode == "cache" and upstream_ok:
            return Action.MERGE
        if (
            policy.mode == "redirect"
            and upstream_ok
            and (policy.always_show_upstream or name in policy.always_show_names)
        ):
            return Action.MERGE
        return Action.LOCAL
    if not upstream_ok:
        return Action.NOT_FOUND
    if policy.mode == "redirect":
        return Action.REDIRECT
    if may_cache_update:
        return Action.MERGE
    return Action.REDIRECT if policy.always_show_upstream else Action.UNAUTHORIZED
