"""Authentication: Basic credentials → ``Identity`` (config users, htpasswd, API tokens).

Invariants:
1. A slow password hash is verified at most once per TTL for the same credentials,
   however many requests carry them at once (concurrent ones wait for the first):
   results are cached under a keyed digest (HMAC with a per-process random key) of the
   credentials, never under the password itself.
2. An unknown user costs the same one hash verification as a wrong password, so
   timing does not tell which user names exist.
3. ``__token__`` with an API token (PyPI's convention) authenticates as the token's
   user, narrowed to the token's projects and scope.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Callable, Mapping

import attrs
from passlib.context import CryptContext
from werkzeug.datastructures import Authorization

from ..acl import Identity
from ..errors import BadCredentials, ConfigError
from ..shared_cache import SharedTTLCache
from .tokens import TOKEN_USERNAME, TokenStore

__all__ = ["PASSWORD_CONTEXT", "Authenticator", "hash_password"]

# Every format pypicloud's ppc-gen-password makes (its default is sha512_crypt, which
# takes 1-3 s per check in libpass's pure-Python backend); new hashes are argon2, done
# in C in well under a second and still verifiable by pypicloud.
PASSWORD_CONTEXT = CryptContext(
    schemes=["argon2", "sha512_crypt", "sha256_crypt", "pbkdf2_sha512", "pbkdf2_sha256", "bcrypt"],
    default="argon2",
)
# htpasswd files (pypiserver's users): bcrypt, SHA-1 and apr1/MD5 entries.
_HTPASSWD_CONTEXT = CryptContext(
    schemes=["bcrypt", "apr_md5_crypt", "ldap_sha1", "sha512_crypt", "sha256_crypt"]
)


# Load the argon2 backend now: libpass swaps its lazy loader on first use, which fails
# when two threads race to be first ("failed to replace lazy loader").
PASSWORD_CONTEXT.handler("argon2").get_backend()


def hash_password(password: str) -> str:
    """A hash for a ``user.<name>`` config entry (argon2)."""
    return str(PASSWORD_CONTEXT.hash(password))


# An empty user name and password, base64 of ":" (what `twine -u '' -p ''` sends).
_EMPTY_BASIC = "Og=="


def _is_password_hash(value: str) -> bool:
    """Whether ``value`` is a hash of a scheme ``user.<name>`` entries may use."""
    try:
        return PASSWORD_CONTEXT.identify(value, required=False) is not None
    except (ValueError, TypeError):
        return False


def _is_empty_basic(header: str) -> bool:
    scheme, _, token = header.strip().partition(" ")
    return scheme.lower() == "basic" and token.strip() == _EMPTY_BASIC


@attrs.frozen
class _CacheEntry:
    identity: Identity | None


class Authenticator:
    """Turns an ``Authorization`` header into an ``Identity`` (or raises ``BadCredentials``)."""

    def __init__(
        self,
        users: Mapping[str, str],
        groups: Mapping[str, tuple[str, ...]],
        *,
        htpasswd_path: str | None = None,
        tokens: TokenStore | None = None,
        ttl: float = 60.0,
        timer: Callable[[], float] | None = None,
    ) -> None:
        self._users = dict(users)
        for name, stored in self._users.items():
            if not _is_password_hash(stored):
                # Never echo the value: it is most likely a pasted password.
                raise ConfigError(
                    f"user.{name} is not a password hash pyregistry recognises (argon2, "
                    "sha512_crypt, sha256_crypt, pbkdf2_sha256/512, bcrypt); put the output of "
                    "`pyregistry hash-password` there, never the password itself"
                )
        self._htpasswd_path = htpasswd_path
        self._htpasswd: dict[str, str] = {}
        self._htpasswd_mtime: float | None = None
        self._user_groups: dict[str, tuple[str, ...]] = {}
        for group, members in groups.items():
            for member in members:
                self._user_groups[member] = (*self._user_groups.get(member, ()), group)
        self._tokens = tokens
        self._key = secrets.token_bytes(32)
        self._cache: SharedTTLCache[bytes, _CacheEntry] = SharedTTLCache(
            10_000, ttl, timer if timer is not None else time.monotonic
        )
        self.verifications = 0  # slow hash verifications done, for tests and metrics

    def user_exists(self, user: str) -> bool:
        """Whether ``user`` is a configured user (``user.*`` or the htpasswd file)."""
        return user in self._users or user in self._htpasswd_entries()

    def _equalize(self, password: str) -> None:
        """Spend on an unknown user what a wrong password costs: verify against a real
        configured hash (same scheme, same rounds); with no users there is nothing to
        probe, so nothing to spend."""
        for stored, context in (
            *((h, PASSWORD_CONTEXT) for h in self._users.values()),
            *((h, _HTPASSWD_CONTEXT) for h in self._htpasswd_entries().values()),
        ):
            self.verifications += 1
            try:
                context.verify(password, stored)
            except (ValueError, TypeError):
                continue
            return

    def identity_for(self, user: str) -> Identity:
        """The identity of a known user name (with their groups)."""
        return Identity(user=user, groups=self._user_groups.get(user, ()))

    def authenticate(self, header: str) -> Identity:
        """Verify an ``Authorization`` header (Basic only)."""
        auth = Authorization.from_header(header)
        if auth is None or auth.type != "basic" or auth.username is None or auth.password is None:
            raise BadCredentials("Only HTTP Basic credentials are accepted.")
        username, password = auth.username, auth.password
        if _is_empty_basic(header):
            return Identity()  # twine -u '' -p '': explicitly anonymous
        if username == TOKEN_USERNAME:
            # Not cached here: a token check is one fast hash, and a revocation must
            # take effect at once (the token store re-reads within pypi.index_ttl).
            identity = self._verify(username, password)
            if identity is None:
                raise BadCredentials("Invalid or non-existent authentication information.", username)
            return identity
        digest = self._digest(username, password)
        # A burst of one client's requests (a CI job's parallel downloads) waits for one
        # verification of its credentials instead of each paying for the slow hash.
        cached = self._cache.get_or_load(digest, lambda: _CacheEntry(self._verify(username, password)))
        if cached.identity is None:
            raise BadCredentials("Invalid or non-existent authentication information.", username)
        return cached.identity

    def cached(self, header: str) -> Identity | None:
        """The identity of credentials verified already (still in the cache), else None;
        never verifies a password or a token and never waits for a lock."""
        auth = Authorization.from_header(header)
        if auth is None or auth.type != "basic" or auth.username is None or auth.password is None:
            return None
        if _is_empty_basic(header):
            return Identity()
        if auth.username == TOKEN_USERNAME:
            return None  # tokens are checked on every request (a revocation is immediate)
        entry = self._cache.peek(self._digest(auth.username, auth.password))
        return entry.identity if entry is not None else None

    def _digest(self, username: str, password: str) -> bytes:
        credentials = f"{username}\0{password}".encode("utf-8", "surrogateescape")
        return hmac.new(self._key, credentials, hashlib.sha256).digest()

    def _verify(self, username: str, password: str) -> Identity | None:
        if username == TOKEN_USERNAME:
            if self._tokens is None:
                return None
            token = self._tokens.verify(password)
            if token is not None and token.publisher is not None:
                # Minted by trusted publishing: no user behind it, only its projects.
                return Identity(
                    user=token.user,
                    token_projects=frozenset(token.projects),
                    token_scope=token.scope,
                    publisher=token.publisher,
                )
            if token is None or not self.user_exists(token.user):
                return None  # revoked, unknown, or its user has been removed
            return attrs.evolve(
                self.identity_for(token.user),
                token_projects=frozenset(token.projects) if token.projects else None,
                token_scope=token.scope,
            )
        stored = self._users.get(username)
        context = PASSWORD_CONTEXT
        if stored is None:
            stored = self._htpasswd_entries().get(username)
            context = _HTPASSWD_CONTEXT
        if stored is None:
            self._equalize(password)
            return None
        self.verifications += 1
        try:
            ok = bool(context.verify(password, stored))
        except (ValueError, TypeError):
            return None  # an unknown or malformed hash format never authenticates
        return self.identity_for(username) if ok else None

    def _htpasswd_entries(self) -> dict[str, str]:
        """Entries of the htpasswd file, re-read when it changes."""
        if self._htpasswd_path is None:
            return {}
        try:
            mtime = os.stat(self._htpasswd_path).st_mtime
        except OSError:
            return {}
        if mtime != self._htpasswd_mtime:
            from passlib.apache import HtpasswdFile  # only when an htpasswd file is configured

            parsed = HtpasswdFile(self._htpasswd_path)
            self._htpasswd = {user: parsed.get_hash(user).decode() for user in parsed.users()}
            self._htpasswd_mtime = mtime
        return self._htpasswd
