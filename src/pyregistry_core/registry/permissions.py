"""Who the caller is and what they may do.

Invariants:
1. A refusal is a 401 (``AuthenticationRequired``) for an anonymous caller and a 403
   (``PermissionDenied``) for an authenticated one, decided in ``refusal`` alone: pip
   asks for credentials only on a 401, uv stops at either (DESIGN.md → Visibility).
2. Credentials that match nobody are a 401 on every request, with or without users
   configured; only an empty user name and password (``Basic Og==``, what
   ``twine -u '' -p ''`` sends) count as anonymous (``Authenticator.authenticate``).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

from ..acl import AUTHENTICATED, EVERYONE, AccessPolicy, Identity, Permission, is_allowed
from ..auth.authenticator import Authenticator
from ..errors import AuthenticationRequired, BadCredentials, PermissionDenied, RegistryError

__all__ = ["ANONYMOUS", "Permissions", "refusal"]

ANONYMOUS = Identity()


def refusal(identity: Identity, message: str) -> RegistryError:
    """The error refusing ``identity``: 401 when anonymous, else 403 with ``message``."""
    if identity.user is None:
        return AuthenticationRequired("Authentication required.")
    return PermissionDenied(message)


class Permissions:
    """Authentication and the access policy, asked by every use case before it reveals anything."""

    def __init__(self, policy: AccessPolicy, authenticator: Authenticator) -> None:
        self.policy = policy
        self._authenticator = authenticator

    def authenticate(self, authorization: str | None) -> Identity:
        """The caller named by an ``Authorization`` header (anonymous when there is none)."""
        if authorization is None:
            return ANONYMOUS
        try:
            return self._authenticator.authenticate(authorization)
        except BadCredentials as error:
            raise AuthenticationRequired(error.message) from error

    def cached_identity(self, authorization: str | None) -> Identity | None:
        """What ``authenticate`` would answer, when that needs no verification; else None."""
        if authorization is None:
            return ANONYMOUS
        return self._authenticator.cached(authorization)

    def may(self, identity: Identity, permission: Permission, project: str | None = None) -> bool:
        """Whether the caller may do ``permission`` on ``project``."""
        return is_allowed(self.policy, identity, permission, project)

    def is_admin(self, identity: Identity) -> bool:
        """Whether the caller is one of ``pypi.admins``."""
        return identity.user in self.policy.admins

    def require(self, identity: Identity, permission: Permission, project: str | None = None) -> None:
        """Raise 401 (anonymous) or 403 unless the caller may do ``permission``."""
        if self.may(identity, permission, project):
            return
        target = f" on project '{project}'" if project else ""
        raise refusal(identity, f"The user '{identity.user}' isn't allowed to {permission.value}{target}.")

    def require_metrics_read(self, identity: Identity, readers: Iterable[str]) -> None:
        """401/403 unless the caller may read ``/metrics`` (``pypi.metrics_read``; admins always)."""
        principals = {r if r in (EVERYONE, AUTHENTICATED) else f"group:{r}" for r in readers}
        if identity.operator or self.is_admin(identity) or identity.principals & principals:
            return
        raise refusal(identity, f"The user '{identity.user}' isn't allowed to read metrics.")

    def require_upload_somewhere(self, identity: Identity) -> None:
        """401/403 unless the caller may upload to at least one project (checked before
        an upload body is read, so a caller who may not write costs no disk or CPU)."""
        if identity.operator or self.is_admin(identity) or self._may_upload_somewhere(identity):
            return
        if identity.publisher is not None and identity.token_projects:
            return  # a trusted publisher's token: its projects are its grant
        if identity.token_scope == "read":
            raise refusal(identity, "This token may only read; it cannot upload.")
        raise refusal(identity, f"The user '{identity.user}' isn't allowed to upload to this index.")

    def _may_upload_somewhere(self, identity: Identity) -> bool:
        if identity.token_scope == "read":
            return False
        principals = identity.principals
        default_write = bool(principals & self.policy.default_write)
        if default_write and (identity.token_projects is None or identity.token_projects):
            return True
        for package, entries in self.policy.packages.items():
            may = any("w" in perms for who, perms in entries.items() if who in principals)
            if may and (identity.token_projects is None or package in identity.token_projects):
                return True
        return False

    def depends_on_identity(self) -> bool:
        """Whether what a page shows can differ between callers (``Vary: Authorization``)."""
        return "everyone" not in self.policy.default_read or bool(self.policy.packages)

    def visibility_key(self, identity: Identity) -> Hashable:
        """None when the caller sees every project, else what decides what they see."""
        if (
            not self.policy.packages
            and identity.token_projects is None
            and self.may(identity, Permission.READ, "any-project")
        ):
            return None
        return (identity.principals, self.is_admin(identity), identity.token_projects)
