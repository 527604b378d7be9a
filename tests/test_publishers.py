"""Trusted publisher configuration (publishers.py) and the issuer key cache (auth/oidc.py)."""

from __future__ import annotations

import json

import pytest
from oidc_support import SigningKey, github_claims, jwks

from pyregistry_core import Settings
from pyregistry_core.auth.oidc import JWKS_MIN_REFRESH, JWKS_TTL, KeySets, OidcRejected
from pyregistry_core.errors import ConfigError
from pyregistry_core.publishers import GITHUB_ISSUER, Issuer, Publisher, match_publisher, parse_trust


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"publisher.tool.1": "travis repo=a/b"}, "publisher.tool.1: the first word must name an issuer"),
        ({"publisher.tool.1": "github repo=a/b"}, "publisher.tool.1: a github publisher needs workflow"),
        (
            {"publisher.tool.1": "github repo=a/b workflow=r.yml branch=main"},
            "'branch' is not a github field",
        ),
        ({"publisher.tool.1": "github repo=ab workflow=r.yml"}, "repo must be owner/name, not 'ab'"),
        ({"publisher.tool.1": "github repo=a/b workflow"}, "'workflow' is not key=value"),
        ({"publisher.tool": "github repo=a/b workflow=r.yml"}, "expected publisher.<project>.<n>"),
        ({"oidc.corp.issuer": "http://ci.corp.test"}, "an OIDC issuer is named by an https:// URL"),
        ({"oidc.corp.jwks_file": "keys.json"}, "oidc.corp.issuer is missing"),
        ({"oidc.corp.isuer": "https://ci.corp.test"}, "oidc.corp.isuer: unknown key"),
        ({"oidc.corp.issuer": "https://ci.corp.test", "publisher.x.1": "corp"}, "name at least one claim"),
        ({"oidc.gh2.issuer": GITHUB_ISSUER}, "two oidc.<issuer> entries name the same issuer URL"),
        ({"oidc.token_lifetime": "forever"}, "oidc.token_lifetime must be seconds"),
        ({"oidc.token_lifetime": "0"}, "oidc.token_lifetime must be between 1 and 86400 seconds"),
        (
            {"oidc.gitlab.type": "jenkins"},
            "oidc.gitlab.type = jenkins: expected one of github, gitlab, generic",
        ),
    ],
)
def test_bad_trust_configuration_refuses_to_start(config: dict[str, str], message: str) -> None:
    """A publisher or issuer line that cannot mean what its writer wanted is a config error."""
    with pytest.raises(ConfigError) as raised:
        Settings.from_mapping({"storage.url": "memory://x", **config})
    assert message in str(raised.value)


def test_publisher_lines_parse_into_values() -> None:
    """A GitHub line becomes a Publisher of the normalized project with its claims in order."""
    trust = parse_trust(
        {"publisher.Acme_Tool.2": "github repo=acme/tool workflow=release.yml environment=pypi"}, "/"
    )
    assert trust.publishers == (
        Publisher(
            "Acme_Tool.2",
            "acme-tool",  # type: ignore[arg-type]
            "github",
            (("repo", "acme/tool"), ("workflow", "release.yml"), ("environment", "pypi")),
        ),
    )
    assert trust.token_lifetime == 900.0
    assert trust.audience is None


def test_github_ids_pin_the_repository() -> None:
    """repository_owner_id and repository_id must equal the token's when configured."""
    issuer = Issuer("github", GITHUB_ISSUER, "github")
    claims = github_claims(0, "aud")
    pinned = Publisher("t.1", "tool", "github", (("repo", "acme/tool"), ("workflow", "release.yml")))  # type: ignore[arg-type]
    assert match_publisher(pinned, issuer, claims)
    for field in ("repository_owner_id", "repository_id"):
        other = Publisher("t.1", "tool", "github", (*pinned.claims, (field, "1")))  # type: ignore[arg-type]
        assert not match_publisher(other, issuer, claims)


def test_workflow_ref_must_end_in_the_tokens_own_ref() -> None:
    """job_workflow_ref names the workflow at the token's ref or sha, nothing else."""
    issuer = Issuer("github", GITHUB_ISSUER, "github")
    publisher = Publisher("t.1", "tool", "github", (("repo", "acme/tool"), ("workflow", "release.yml")))  # type: ignore[arg-type]
    claims = github_claims(0, "aud")
    claims["job_workflow_ref"] = "acme/tool/.github/workflows/release.yml@refs/heads/other"
    assert not match_publisher(publisher, issuer, claims)
    claims["job_workflow_ref"] = f"acme/tool/.github/workflows/release.yml@{claims['sha']}"
    assert match_publisher(publisher, issuer, claims)


class _Fetcher:
    """Serves a JWKS document (changeable) and counts fetches."""

    def __init__(self, *keys: SigningKey) -> None:
        self.document = jwks(*keys)
        self.urls: list[str] = []

    def __call__(self, url: str) -> bytes:
        self.urls.append(url)
        if url.endswith("/.well-known/openid-configuration"):
            return json.dumps(
                {"issuer": GITHUB_ISSUER, "jwks_uri": f"{GITHUB_ISSUER}/.well-known/jwks"}
            ).encode()
        return json.dumps(self.document).encode()


def test_key_sets_are_discovered_cached_and_refreshed_on_unknown_kid() -> None:
    """Keys come from the issuer's discovery document, are cached, and a new kid refetches (rate-limited)."""
    old, new = SigningKey("ES256"), SigningKey("ES256")
    fetch = _Fetcher(old)
    now = [0.0]
    keys = KeySets(fetch, clock=lambda: now[0])
    issuer = Issuer("github", GITHUB_ISSUER, "github")
    assert len(keys.key(issuer, old.kid)) == 1
    assert len(keys.key(issuer, old.kid)) == 1
    assert fetch.urls == [
        f"{GITHUB_ISSUER}/.well-known/openid-configuration",
        f"{GITHUB_ISSUER}/.well-known/jwks",
    ]
    fetch.document = jwks(old, new)
    assert keys.key(issuer, new.kid) == []  # rotated a moment ago: not refetched yet
    now[0] = JWKS_MIN_REFRESH
    assert len(keys.key(issuer, new.kid)) == 1
    assert len(fetch.urls) == 4
    now[0] += JWKS_TTL
    keys.key(issuer, old.kid)
    assert len(fetch.urls) == 6


def test_discovery_must_name_https_keys_of_the_same_issuer() -> None:
    """A discovery document pointing at plain HTTP or naming another issuer is refused."""
    issuer = Issuer("github", GITHUB_ISSUER, "github")
    for document in (
        {"issuer": GITHUB_ISSUER, "jwks_uri": "http://keys.test/jwks"},
        {"issuer": "https://other.test", "jwks_uri": "https://keys.test/jwks"},
    ):
        keys = KeySets(lambda _url, d=document: json.dumps(d).encode())  # type: ignore[misc]
        with pytest.raises(OidcRejected):
            keys.key(issuer, "kid")
