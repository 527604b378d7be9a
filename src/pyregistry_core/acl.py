"""Access control as data and one pure function (pypicloud's model, holes closed).

Rules (PYPICLOUD.md → Access control): admins may do everything; otherwise a package's
explicit user/group entries decide, and only a package with no explicit entries falls
back to ``default_read``/``default_write``. No deny rules; ``w`` does not imply ``r``.
Every package name is normalized when the policy is built and at every check.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping

import attrs
from packaging.utils import NormalizedName, canonicalize_name

__all__ = ["AccessPolicy", "Identity", "Permission", "is_allowed", "principal_of"]


class Permission(str, enum.Enum):
    """What a caller may want to do."""

    READ = "read"
    WRITE = "write"
    CACHE_UPDATE = "cache_update"
    DELETE = "delete"


EVERYONE = "everyone"
AUTHENTICATED = "authenticated"


@attrs.frozen
class Identity:
    """Who is calling: a user name and groups, or anonymous (``user=None``)."""

    user: str | None = None
    groups: tuple[str, ...] = ()
    # API tokens narrow what their user may do (None = no restriction).
    token_projects: frozenset[NormalizedName] | None = None
    token_scope: str | None = None
    # The operator at the command line (who can read the config can do anything).
    operator: bool = False
    # A token minted by trusted publishing: the publisher that earned it. Such a caller
    # may read and upload to ``token_projects`` and nothing else, whatever the ACL says
    # (the admin's publisher line is the grant).
    publisher: str | None = None

    @property
    def principals(self) -> frozenset[str]:
        """``everyone``, plus ``authenticated``, ``user:<u>`` and ``group:<g>`` when known."""
        if self.user is None:
            return frozenset({EVERYONE})
        return frozenset({EVERYONE, AUTHENTICATED, f"user:{self.user}"} | {f"group:{g}" for g in self.groups})


ADMIN = "admin"


def principal_of(word: str) -> str:
    """A who-may word as pypicloud reads it: ``everyone``, ``authenticated``, ``admin``,
    ``group:<g>`` or ``user:<u>`` as written; any other word is a group name.

    >>> principal_of("developers"), principal_of("group:developers"), principal_of("user:ci")
    ('group:developers', 'group:developers', 'user:ci')
    """
    if word in (EVERYONE, AUTHENTICATED, ADMIN) or word.startswith(("group:", "user:")):
        return word
    return f"group:{word}"


def _group_principals(names: Iterable[str]) -> frozenset[str]:
    """The principals a who-may list names (admins may everything anyway)."""
    return frozenset(principal_of(n) for n in names)


@attrs.frozen
class AccessPolicy:
    """Every rule of a registry's access control, normalized."""

    default_read: frozenset[str] = frozenset({EVERYONE})
    default_write: frozenset[str] = frozenset({AUTHENTICATED})
    cache_update: frozenset[str] = frozenset({AUTHENTICATED})
    allow_delete: frozenset[str] = frozenset({AUTHENTICATED})
    admins: frozenset[str] = frozenset()
    # package → principal (user:<u> / group:<g> / everyone / authenticated) → "r"/"w"/"rw"
    packages: Mapping[NormalizedName, Mapping[str, str]] = attrs.field(factory=dict)

    @classmethod
    def from_settings(
        cls,
        *,
        default_read: Iterable[str],
        default_write: Iterable[str],
        cache_update: Iterable[str],
        allow_delete: Iterable[str],
        admins: Iterable[str],
        package_entries: Mapping[str, Mapping[str, str]],
    ) -> AccessPolicy:
        """Build a policy from config values, normalizing package names."""
        packages: dict[NormalizedName, dict[str, str]] = {}
        for package, entries in package_entries.items():
            merged = packages.setdefault(canonicalize_name(package), {})
            for principal, perms in entries.items():
                kind, _, name = principal.partition(":")
                key = name if kind == "group" and name in (EVERYONE, AUTHENTICATED) else principal
                merged[key] = "".join(sorted(set(merged.get(key, "")) | set(perms.lower())))
        return cls(
            default_read=_group_principals(default_read),
            default_write=_group_principals(default_write),
            cache_update=_group_principals(cache_update),
            allow_delete=_group_principals(allow_delete),
            admins=frozenset(admins),
            packages=packages,
        )

    def has_explicit_entries(self, project: str) -> bool:
        """Whether the package's own entries replace the defaults."""
        return bool(self.packages.get(canonicalize_name(project)))


def _token_allows(identity: Identity, permission: Permission, project: NormalizedName | None) -> bool:
    if identity.token_projects is not None and (project is None or project not in identity.token_projects):
        return permission is Permission.READ and project is None
    if identity.token_scope == "read":
        return permission is Permission.READ
    return True


def is_allowed(
    policy: AccessPolicy,
    identity: Identity,
    permission: Permission,
    project: str | None = None,
) -> bool:
    """Whether ``identity`` may do ``permission`` on ``project`` (None: the index itself)."""
    if identity.operator:
        return True
    name = canonicalize_name(project) if project is not None else None
    if identity.publisher is not None:
        allowed = identity.token_projects or frozenset()
        return permission in (Permission.READ, Permission.WRITE) and name is not None and name in allowed
    if not _token_allows(identity, permission, name):
        return False
    if identity.user is not None and identity.user in policy.admins:
        return True
    principals = identity.principals
    if permission is Permission.CACHE_UPDATE:
        return bool(principals & policy.cache_update) and is_allowed(
            policy, identity, Permission.READ, project
        )
    if permission is Permission.DELETE:
        return bool(principals & policy.allow_delete) and is_allowed(
            policy, identity, Permission.WRITE, project
        )
    letter = "r" if permission is Permission.READ else "w"
    entries = policy.packages.get(name) if name is not None else None
    if entries:
        return any(letter in perms for principal, perms in entries.items() if principal in principals)
    defaults = policy.default_read if permission is Permission.READ else policy.default_write
    return bool(principals & defaults)
