"""Verifying OIDC identity tokens (JWTs) from CI platforms, for trusted publishing.

Invariants:
1. A token is believed only after its signature checks against a key of the JWKS this
   index fetched itself for the issuer the token names (never a URL or key the token
   carries: ``jku``, ``x5u`` and ``jwk`` headers are ignored), with RS256 or ES256
   only — ``none`` and HMAC never verify.
2. ``iss``, ``aud``, ``exp``, ``nbf`` and ``iat`` are checked against an injected clock
   with ``LEEWAY`` seconds of tolerance.
3. An issuer's key set is cached for ``JWKS_TTL`` seconds and fetched again when a token
   names an unknown ``kid`` — at most once per ``JWKS_MIN_REFRESH`` seconds, so junk
   tokens cannot make us hammer the issuer.
4. A ``jti`` is spent once: its first use creates ``oidc/jti/<digest>`` in storage with a
   create-only write, so replicas sharing the storage refuse a replay too.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import jwt

from ..errors import OidcRejected
from ..publishers import Issuer, TrustConfig
from ..storage.base import Storage

__all__ = ["ALGORITHMS", "JtiLedger", "KeySets", "OidcRejected", "verify_identity_token"]

ALGORITHMS = ("RS256", "ES256")
LEEWAY = 30.0
JWKS_TTL = 3600.0
JWKS_MIN_REFRESH = 60.0
MAX_TOKEN_SIZE = 16 * 1024
MAX_JWKS_SIZE = 1024 * 1024

# Fetches a URL over HTTPS with the upstream client's bounds; returns the body.
Fetch = Callable[[str], bytes]


def _invalid_token(description: str = "malformed or invalid token") -> OidcRejected:
    return OidcRejected("invalid-token", description)


@attrs.frozen
class _Cached:
    keys: Mapping[str, jwt.PyJWK]  # kid → key ("" for keys without one)
    fetched: float


class KeySets:
    """Each issuer's signing keys: from its ``jwks_file`` or fetched over HTTPS and cached."""

    def __init__(self, fetch: Fetch, clock: Callable[[], float] = time.monotonic) -> None:
        self._fetch = fetch
        self._clock = clock
        self._cache: dict[str, _Cached] = {}
        self._lock = threading.Lock()

    def _load(self, issuer: Issuer) -> Mapping[str, jwt.PyJWK]:
        if issuer.jwks_file is not None:
            try:
                with open(issuer.jwks_file, "rb") as handle:
                    raw = handle.read(MAX_JWKS_SIZE + 1)
            except OSError as exc:
                raise OidcRejected("invalid-token", f"the key set of {issuer.url} cannot be read") from exc
        else:
            jwks_url = issuer.jwks_url or self._discover(issuer)
            raw = self._fetch(jwks_url)
        if len(raw) > MAX_JWKS_SIZE:
            raise OidcRejected("invalid-token", f"the key set of {issuer.url} is too large")
        try:
            document = json.loads(raw)
            keys = document["keys"]
        except (ValueError, RecursionError, KeyError, TypeError) as exc:
            raise OidcRejected("invalid-token", f"the key set of {issuer.url} is not a JWKS") from exc
        usable: dict[str, jwt.PyJWK] = {}
        for entry in keys if isinstance(keys, list) else ():
            try:
                key = jwt.PyJWK(entry)
            except (jwt.PyJWTError, ValueError, TypeError, KeyError):
                continue  # a key type or algorithm we do not use
            usable[str(entry.get("kid", ""))] = key
        return usable

    def _discover(self, issuer: Issuer) -> str:
        """The ``jwks_uri`` of the issuer's OpenID configuration (must be https)."""
        raw = self._fetch(f"{issuer.url}/.well-known/openid-configuration")
        try:
            document = json.loads(raw)
            jwks_uri = document["jwks_uri"]
        except (ValueError, RecursionError, KeyError, TypeError) as exc:
            raise OidcRejected("invalid-token", f"{issuer.url} has no usable OpenID configuration") from exc
        if not isinstance(jwks_uri, str) or not jwks_uri.startswith("https://"):
            raise OidcRejected("invalid-token", f"{issuer.url} names no https jwks_uri")
        if document.get("issuer", issuer.url).rstrip("/") != issuer.url:
            raise OidcRejected("invalid-token", f"{issuer.url}'s OpenID configuration names another issuer")
        return jwks_uri

    def key(self, issuer: Issuer, kid: str | None) -> list[jwt.PyJWK]:
        """The keys that may have signed a token with ``kid`` (refetching once if unknown)."""
        now = self._clock()
        with self._lock:
            cached = self._cache.get(issuer.name)
        fresh = cached is not None and now - cached.fetched < JWKS_TTL
        if (
            cached is None
            or not fresh
            or (kid is not None and kid not in cached.keys and now - cached.fetched >= JWKS_MIN_REFRESH)
        ):
            cached = _Cached(self._load(issuer), now)
            with self._lock:
                self._cache[issuer.name] = cached
        if kid is None:
            return list(cached.keys.values())
        found = cached.keys.get(kid)
        return [found] if found is not None else []


class JtiLedger:
    """Spent token identifiers, in the registry's storage (shared by every replica)."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    def spend(self, issuer: str, jti: str, expires: float) -> bool:
        """Record ``jti`` as used; False when it already was."""
        digest = hashlib.sha256(f"{issuer}\0{jti}".encode()).hexdigest()
        record = json.dumps({"issuer": issuer, "expires": expires}).encode()
        return self._storage.create_blob(f"oidc/jti/{digest}.json", record)

    def expired(self, now: float) -> list[str]:
        """Keys of spent identifiers whose token has expired (a replay fails on ``exp`` anyway)."""
        found = []
        for key, _modified in self._storage.walk_blobs("oidc/jti/"):
            try:
                with self._storage.open_blob(key) as handle:
                    expires = float(json.loads(handle.read(4096))["expires"])
            except FileNotFoundError:
                continue
            except (ValueError, KeyError, TypeError):
                expires = 0.0  # unreadable: nothing to protect
            if expires + LEEWAY < now:
                found.append(key)
        return found

    def remove(self, keys: list[str]) -> int:
        """Delete spent identifiers (from ``expired``); returns how many."""
        for key in keys:
            self._storage.delete_blob(key)
        return len(keys)


def _unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of a token, before any check (only to pick the issuer and key)."""
    if len(token) > MAX_TOKEN_SIZE:
        raise OidcRejected("invalid-payload", "malformed JWT")
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise OidcRejected("invalid-payload", "malformed JWT") from exc
    if not isinstance(claims.get("iss"), str):
        raise OidcRejected("invalid-payload", "malformed JWT")
    return header, claims


def _check_times(claims: Mapping[str, Any], now: float) -> None:
    for name in ("exp", "iat"):
        if not isinstance(claims.get(name), (int, float)) or isinstance(claims.get(name), bool):
            raise _invalid_token(f"the token has no numeric {name} claim")
    if now > claims["exp"] + LEEWAY:
        raise _invalid_token("the token has expired")
    if claims["iat"] > now + LEEWAY:
        raise _invalid_token("the token was issued in the future")
    nbf = claims.get("nbf")
    if isinstance(nbf, (int, float)) and nbf > now + LEEWAY:
        raise _invalid_token("the token is not valid yet")


def verify_identity_token(
    token: str, trust: TrustConfig, audience: str, keys: KeySets, now: float
) -> tuple[Issuer, dict[str, Any]]:
    """The issuer and verified claims of ``token``, or ``OidcRejected`` saying why not."""
    header, unverified = _unverified(token)
    issuer = trust.issuer_by_url(unverified["iss"])
    if issuer is None:
        raise OidcRejected("invalid-payload", "unknown trusted publishing issuer")
    algorithm = header.get("alg")
    if algorithm not in ALGORITHMS:
        raise _invalid_token(f"the token's algorithm {algorithm!r} is not one of {', '.join(ALGORITHMS)}")
    kid = header.get("kid") if isinstance(header.get("kid"), str) else None
    candidates = keys.key(issuer, kid)
    if not candidates:
        raise _invalid_token("the token was signed by a key the issuer does not publish")
    for key in candidates:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[algorithm],
                audience=audience,
                issuer=unverified["iss"],
                # Times are checked below against the injected clock.
                options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
            )
        except jwt.InvalidSignatureError:
            continue
        except jwt.InvalidAudienceError as exc:
            raise _invalid_token(f"the token's audience is not {audience!r}") from exc
        except jwt.PyJWTError as exc:
            raise _invalid_token() from exc
        _check_times(claims, now)
        return issuer, claims
    raise _invalid_token("the token's signature does not verify")
