"""Trusted publishing: exchange a CI platform's OIDC token for a short-lived upload token.

PyPI's protocol (what ``uv publish --trusted-publishing`` speaks): the client asks for
the audience, gets an identity token for it from its CI platform, posts it to
``/_/oidc/mint-token`` and uploads with the answer as ``__token__``'s password. The
minted token is an ordinary stored API token (revocable, listed by ``token list`` with
the publisher and the claims that earned it) that expires after
``oidc.token_lifetime`` seconds and may upload only to the publisher's project(s).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import attrs

from ..auth.oidc import JtiLedger, KeySets, OidcRejected, verify_identity_token
from ..auth.publisher_store import PublisherStore
from ..auth.tokens import TokenStore
from ..publishers import Publisher, TrustConfig, match_publisher
from ..storage.base import Storage
from ..upstream.client import HttpUpstream

__all__ = ["MintedToken", "TrustedPublishing", "https_fetch"]

log = logging.getLogger(__name__)
# Claims kept with a minted token for the audit trail (whichever the token has).
_AUDIT_CLAIMS = (
    "sub",
    "repository",
    "repository_id",
    "repository_owner_id",
    "job_workflow_ref",
    "project_path",
    "ci_config_ref_uri",
    "environment",
    "ref",
    "sha",
    "jti",
)


def https_fetch(url: str, timeout: float = 10.0) -> bytes:
    """GET an issuer's document over HTTPS with the upstream client's safeguards
    (timeouts, size cap, checked redirects that never lead to internal addresses)."""
    if not url.startswith("https://"):
        raise OidcRejected("invalid-token", f"refusing to fetch keys over plain HTTP: {url}")
    return HttpUpstream(url, timeout=timeout).fetch(url, max_size=1024 * 1024)


@attrs.frozen
class MintedToken:
    """What ``/_/oidc/mint-token`` answers."""

    token: str
    expires: int
    projects: tuple[str, ...]
    token_id: str = ""  # for the audit trail (the id, never the token)
    publisher: str = ""  # the ids of the publishers that earned it
    claims: tuple[tuple[str, str], ...] = ()  # the claims that earned it, as ``token list`` shows


class TrustedPublishing:
    """Audience, mint and burn for one registry."""

    def __init__(
        self,
        trust: TrustConfig,
        storage: Storage,
        tokens: TokenStore,
        *,
        fetch: Callable[[str], bytes] = https_fetch,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.trust = trust
        self._tokens = tokens
        self.store = PublisherStore(storage)
        self.spent = JtiLedger(storage)
        self._keys = KeySets(fetch, clock=wall_clock)
        self._clock = wall_clock

    @property
    def enabled(self) -> bool:
        """Whether any publisher is configured or stored."""
        return self.trust.enabled or self.store.exist()

    def publishers(self) -> list[Publisher]:
        """Every publisher: the config's, then the stored ones."""
        return [*self.trust.publishers, *self.store.list(self.trust.issuers)]

    def add_publisher(self, project: str, line: str) -> Publisher:
        """Store a publisher of ``project`` (``<issuer> key=value …``, as in the config)."""
        publisher = self.store.add(project, line, self.trust.issuers)
        log.info("trusted publisher %s added: %s", publisher.id, publisher.line())
        return publisher

    def remove_publisher(self, publisher_id: str) -> bool:
        """Remove a stored publisher (config ones stay until the config changes)."""
        removed = self.store.remove(publisher_id)
        if removed:
            log.info("trusted publisher %s removed", publisher_id)
        return removed

    def audience(self, host: str | None) -> str:
        """``oidc.audience``, else the host clients reach this index by."""
        if self.trust.audience:
            return self.trust.audience
        if not host:
            raise OidcRejected("not-enabled", "set oidc.audience: this request names no host")
        return host.lower()

    def mint(self, identity_token: str, host: str | None) -> MintedToken:
        """Verify ``identity_token`` and store an upload token for the publisher it matches."""
        if not self.enabled:
            raise OidcRejected("not-enabled", "trusted publishing functionality not enabled")
        now = self._clock()
        issuer, claims = verify_identity_token(
            identity_token, self.trust, self.audience(host), self._keys, now
        )
        matched = [p for p in self.publishers() if match_publisher(p, issuer, claims)]
        if not matched:
            log.info("trusted publishing: no publisher for %s claims %s", issuer.name, _audit(claims))
            raise OidcRejected(
                "invalid-publisher",
                f"valid token, but no corresponding publisher ({_identity_summary(issuer.kind, claims)})",
            )
        jti = claims.get("jti")
        if isinstance(jti, str) and jti and not self.spent.spend(issuer.url, jti, float(claims["exp"])):
            raise OidcRejected("invalid-reuse-token", "invalid token: already used")
        projects = tuple(sorted({p.project for p in matched}))
        expires = now + self.trust.token_lifetime
        names = ",".join(p.id for p in matched)
        kept = _audit(claims)
        token, secret = self._tokens.create(
            f"publisher:{names}", projects, "upload", expires=expires, publisher=names, claims=kept
        )
        log.info(
            "trusted publishing: minted token %s for %s (%s), expires %d",
            token.id,
            ",".join(projects),
            names,
            expires,
        )
        return MintedToken(secret, int(expires), projects, token.id, names, kept)

    def burn(self, minted: str) -> bool:
        """Revoke a minted token its holder is done with (True when one was revoked)."""
        token = self._tokens.verify(minted)
        if token is None or token.publisher is None:
            return False
        log.info("trusted publishing: token %s burnt by its holder", token.id)
        return self._tokens.revoke(token.id)


def _audit(claims: dict[str, object]) -> tuple[tuple[str, str], ...]:
    return tuple((k, str(claims[k])) for k in _AUDIT_CLAIMS if claims.get(k) not in (None, ""))


def _identity_summary(kind: str, claims: dict[str, object]) -> str:
    """The token's own identity, to show what was refused (never the configuration)."""
    fields = {
        "github": ("repository", "job_workflow_ref", "environment"),
        "gitlab": ("project_path", "ci_config_ref_uri", "environment"),
    }.get(kind, ("sub",))
    shown = [f"{k}={claims[k]!s}" for k in fields if claims.get(k) not in (None, "")]
    return "no trusted publisher matches " + (", ".join(shown) or "this token")
