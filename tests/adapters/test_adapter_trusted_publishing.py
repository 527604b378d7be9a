"""Trusted publishing through both adapters, mounted under a path prefix."""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from oidc_support import SigningKey, github_claims, jwks

from pyregistry_core import Registry
from pyregistry_core.audit import AUDIT_LOGGER

# conftest's types (conftest modules are not importable)
Client = Any
Builders = Any
RegistryFactory = Callable[..., Registry]

PREFIX = "/tools/pypi"


@pytest.fixture(scope="module")
def key() -> SigningKey:
    """GitHub's (test) signing key."""
    return SigningKey("ES256")


@pytest.fixture
def trusted(
    tmp_path: Path, key: SigningKey, make_registry: RegistryFactory, make_client: Callable[[Registry], Client]
) -> Client:
    """A registry where only acme/tool's release workflow may upload acme-tool."""
    (tmp_path / "github.jwks").write_text(json.dumps(jwks(key)))
    settings = {
        "pypi.default_write": "",
        "oidc.github.jwks_file": str(tmp_path / "github.jwks"),
        "publisher.acme-tool.1": "github repo=acme/tool workflow=release.yml",
    }
    return make_client(make_registry(settings=settings))


def _mint(client: Client, token: str) -> dict[str, object]:
    reply = client.request(
        "POST",
        "/_/oidc/mint-token",
        {"Content-Type": "application/json"},
        json.dumps({"token": token}).encode(),
        prefix=PREFIX,
    )
    assert reply.status == 200, reply.body
    document: dict[str, object] = json.loads(reply.body)
    return document


def test_audience_under_a_prefix_is_the_host(trusted: Client) -> None:
    """The mounted index answers <prefix>/_/oidc/audience with the Host clients used."""
    reply = trusted.get("/_/oidc/audience", prefix=PREFIX)
    assert reply.status == 200
    assert json.loads(reply.body) == {"audience": "testserver"}
    assert reply.headers["Cache-Control"] == "no-store"


def test_mint_then_upload_under_a_prefix(trusted: Client, key: SigningKey, build: Builders) -> None:
    """A token minted under the prefix uploads there; a burnt one no longer does."""
    minted = _mint(trusted, key.sign(github_claims(time.time(), "testserver", environment=None)))
    assert minted["success"] is True
    credentials = base64.b64encode(f"__token__:{minted['token']}".encode()).decode()
    body, content_type = build.encode_upload(build.wheel("acme-tool", "1.0"))
    headers = {"Content-Type": content_type, "Authorization": f"Basic {credentials}"}
    assert trusted.request("POST", "/legacy/", headers, body, prefix=PREFIX).status == 200
    assert trusted.get("/simple/acme-tool/", prefix=PREFIX).status == 200
    burn = json.dumps({"token": minted["token"]}).encode()
    assert trusted.request("POST", "/_/oidc/burn-token", {}, burn, prefix=PREFIX).status == 202
    body, content_type = build.encode_upload(build.wheel("acme-tool", "1.1"))
    headers["Content-Type"] = content_type
    assert trusted.request("POST", "/legacy/", headers, body, prefix=PREFIX).status == 401


def test_refusal_is_pypis_error_document(trusted: Client, key: SigningKey) -> None:
    """A refused mint is 422 JSON with message and errors[code, description] through the adapter."""
    token = key.sign(github_claims(time.time(), "testserver", repository="acme/other"))
    reply = trusted.request(
        "POST", "/_/oidc/mint-token", {}, json.dumps({"token": token}).encode(), prefix=PREFIX
    )
    assert reply.status == 422
    assert reply.headers["Content-Type"] == "application/json"
    document = json.loads(reply.body)
    assert document["message"] == "Token request failed"
    assert [e["code"] for e in document["errors"]] == ["invalid-publisher"]


def test_mints_and_refused_mints_are_on_the_audit_trail(
    trusted: Client, key: SigningKey, caplog: pytest.LogCaptureFixture
) -> None:
    """A mint names the publisher, project, token id (never the token) and the claims that
    earned it; a refused one its reason."""
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)
    claims = github_claims(time.time(), "testserver", environment=None)
    minted = _mint(trusted, key.sign(claims))
    refused = trusted.request("POST", "/_/oidc/mint-token", {}, b"{}", prefix=PREFIX)
    assert refused.status == 422
    ok, no = ((r.audit, r.getMessage()) for r in caplog.records if r.name == AUDIT_LOGGER)
    assert not any(str(minted["token"]) in text for text in (ok[1], no[1], json.dumps(ok[0])))
    assert {k: ok[0][k] for k in ("action", "project", "outcome", "client")} == {
        "action": "oidc.mint",
        "project": "acme-tool",
        "outcome": "ok",
        "client": "127.0.0.1",
    }
    assert ok[0]["actor"].startswith("publisher:")
    assert len(ok[0]["actor"]) > len("publisher:")
    assert ok[0]["target"]  # the token's id
    assert ok[0]["detail"] == (
        f"scope: upload; expires: {minted['expires']}; claims: sub=repo:acme/tool:ref:refs/tags/v1.0"
        " repository=acme/tool repository_id=777 repository_owner_id=4242"
        " job_workflow_ref=acme/tool/.github/workflows/release.yml@refs/tags/v1.0 ref=refs/tags/v1.0"
        f" sha=0123456789abcdef0123456789abcdef01234567 jti={claims['jti']}"
    )
    assert (no[0]["actor"], no[0]["outcome"], no[0]["reason"]) == (
        "anonymous",
        "refused",
        "invalid-payload: the body must be a JSON object with a token",
    )
