"""API tokens like PyPI's: username ``__token__``, the token as password.

A token is ``pyreg-<id>-<secret>``; only ``sha256(secret)`` is stored, under
``tokens/<id>.json`` in the registry's own storage, so every replica sees the same
tokens and a revocation (a rewritten record) reaches them within the cache TTL.
Secrets are 256 random bits, so a fast hash is enough.

Tokens minted by trusted publishing (``registry/trusted_publishing.py``) carry the
publisher that earned them, the OIDC claims it matched, and an expiry after which
``verify`` refuses them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterable

import attrs
from cachetools import LRUCache

from ..names import NormalizedName, normalize
from ..shared_cache import SharedTTLCache
from ..storage.base import Document, NotModified, Storage

__all__ = ["TOKEN_USERNAME", "ApiToken", "TokenStore"]

TOKEN_USERNAME = "__token__"
_PREFIX = "pyreg"
SCOPES = ("read", "upload")


@attrs.frozen
class ApiToken:
    """A stored token (never the secret itself)."""

    id: str
    user: str
    projects: tuple[NormalizedName, ...]
    scope: str
    secret_sha256: str
    created: float
    revoked: bool = False
    expires: float | None = None
    publisher: str | None = None  # the trusted publisher whose OIDC identity earned it
    claims: tuple[tuple[str, str], ...] = ()  # the identity's claims, for the audit trail

    def describe(self) -> str:
        """One line for ``pyregistry token list``."""
        projects = ",".join(self.projects) or "*"
        state = " revoked" if self.revoked else ""
        line = f"{self.id} user={self.user} scope={self.scope} projects={projects}{state}"
        if self.expires is not None:
            line += f" expires={int(self.expires)}"
        if self.publisher is not None:
            line += f" publisher={self.publisher} " + " ".join(f"{k}={v}" for k, v in self.claims)
        return line.rstrip()


class TokenStore:
    """Creates, lists, verifies and revokes tokens in storage."""

    def __init__(
        self,
        storage: Storage,
        ttl: float = 5.0,
        timer: Callable[[], float] = time.monotonic,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._storage = storage
        self._clock = clock  # wall time: creation stamps and expiry of minted tokens
        self._cache: SharedTTLCache[str, ApiToken | None] = SharedTTLCache(10_000, ttl, timer)
        self._lock = threading.Lock()
        self._versions: LRUCache[str, tuple[str, ApiToken]] = LRUCache(10_000)  # by id: version, token

    @staticmethod
    def _key(token_id: str) -> str:
        return f"tokens/{token_id}.json"

    def _save(self, token: ApiToken) -> None:
        self._storage.put_blob(self._key(token.id), json.dumps(attrs.asdict(token)).encode())
        self._cache.pop(token.id)

    def load(self, token_id: str) -> ApiToken | None:
        """A stored token by id: one conditional read when it was read before (with
        ``pypi.index_ttl = 0`` every request re-checks its token, so a revocation is
        seen at once, at the cost of a 304)."""
        if not token_id.isalnum():
            return None
        with self._lock:
            known = self._versions.get(token_id)
        found = self._storage.read_document(self._key(token_id), known[0] if known is not None else None)
        if isinstance(found, NotModified) and known is not None:
            return known[1]
        if not isinstance(found, Document):
            with self._lock:
                self._versions.pop(token_id, None)
            return None
        raw = json.loads(found.data)
        raw["projects"] = tuple(raw["projects"])
        raw["claims"] = tuple((str(k), str(v)) for k, v in raw.get("claims", ()))
        token = ApiToken(**raw)
        with self._lock:
            self._versions[token_id] = (found.etag, token)
        return token

    def create(
        self,
        user: str,
        projects: Iterable[str] = (),
        scope: str = "upload",
        *,
        expires: float | None = None,
        publisher: str | None = None,
        claims: tuple[tuple[str, str], ...] = (),
    ) -> tuple[ApiToken, str]:
        """Store a new token; returns it and the secret string (shown once)."""
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {', '.join(SCOPES)}")
        token_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        token = ApiToken(
            id=token_id,
            user=user,
            projects=tuple(normalize(p) for p in projects),
            scope=scope,
            secret_sha256=hashlib.sha256(secret.encode()).hexdigest(),
            created=self._clock(),
            expires=expires,
            publisher=publisher,
            claims=claims,
        )
        self._save(token)
        return token, f"{_PREFIX}-{token_id}-{secret}"

    def list(self) -> list[ApiToken]:
        """Every stored token, revoked ones included."""
        found = []
        for key in self._storage.list_blobs("tokens/"):
            if key.endswith(".json"):
                token = self.load(key.rsplit("/", 1)[-1][: -len(".json")])
                if token is not None:
                    found.append(token)
        return sorted(found, key=lambda t: t.created)

    def exist(self) -> bool:
        """Whether any token was ever created here."""
        return bool(self._storage.list_blobs("tokens/"))

    def revoke(self, token_id: str) -> bool:
        """Mark a token revoked; False when there is no such token."""
        token = self.load(token_id)
        if token is None:
            return False
        self._save(attrs.evolve(token, revoked=True))
        return True

    def verify(self, presented: str) -> ApiToken | None:
        """The token a presented string names, if its secret matches and it is live."""
        prefix, _, rest = presented.partition("-")
        token_id, _, secret = rest.partition("-")
        if prefix != _PREFIX or not token_id or not secret:
            return None
        token = self._cache.get_or_load(token_id, lambda: self.load(token_id))
        if token is None or token.revoked:
            return None
        if token.expires is not None and self._clock() >= token.expires:
            return None
        digest = hashlib.sha256(secret.encode()).hexdigest()
        return token if hmac.compare_digest(digest, token.secret_sha256) else None
