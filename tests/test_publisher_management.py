"""Trusted publishers added at run time: the management API (admins only) and ``pyregistry publisher``."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from access_helpers import basic, fast_hash
from oidc_support import SigningKey, github_claims, jwks
from registry_http import body_bytes, send, text

from pyregistry_core import Registry, Settings

PYREGISTRY = Path(sys.executable).parent / "pyregistry"
AUDIENCE = "pyregistry-test"
ADMIN = basic("admin", "admin-pw")
DEV = basic("dev", "dev-pw")
LINE = "github repo=acme/tool workflow=release.yml"


@pytest.fixture(scope="module")
def key() -> SigningKey:
    """GitHub's (test) signing key."""
    return SigningKey("ES256")


def _config(tmp_path: Path, key: SigningKey) -> dict[str, str]:
    (tmp_path / "github.jwks").write_text(json.dumps(jwks(key)))
    return {
        "storage.dir": str(tmp_path / "packages"),
        "pypi.default_write": "",
        "auth.admins": "admin",
        "user.admin": fast_hash("admin-pw"),
        "user.dev": fast_hash("dev-pw"),
        "oidc.audience": AUDIENCE,
        "oidc.github.jwks_file": str(tmp_path / "github.jwks"),
    }


@pytest.fixture
def registry(tmp_path: Path, key: SigningKey) -> Registry:
    """A registry with no publisher in its config."""
    return Registry(Settings.from_mapping(_config(tmp_path, key)))


def _add(registry: Registry, authorization: str | None, body: object) -> tuple[int, str]:
    headers = {"Content-Type": "application/json"}
    if authorization:
        headers["Authorization"] = authorization
    response = send(registry, "POST", "/api/publisher", json.dumps(body).encode(), headers)
    return response.status, text(response)


def _mint(registry: Registry, key: SigningKey) -> int:
    token = key.sign(github_claims(time.time(), AUDIENCE, environment=None))
    return send(registry, "POST", "/_/oidc/mint-token", json.dumps({"token": token}).encode()).status


def test_admin_adds_lists_and_removes_a_publisher(registry: Registry, key: SigningKey) -> None:
    """An admin's POST /api/publisher trusts the identity at once; DELETE ends the trust."""
    assert send(registry, "GET", "/_/oidc/audience").status == 403  # nothing trusted yet
    status, body = _add(registry, ADMIN, {"project": "Acme_Tool", "publisher": LINE})
    assert status == 201, body
    added = json.loads(body)
    assert added["project"] == "acme-tool"
    assert added["publisher"] == LINE
    assert added["id"].startswith("acme-tool.")
    listing = json.loads(
        body_bytes(send(registry, "GET", "/api/publisher", headers={"Authorization": ADMIN}))
    )
    assert listing == {"publishers": [{**added, "source": "stored"}]}
    assert send(registry, "GET", "/_/oidc/audience").status == 200
    assert _mint(registry, key) == 200
    removed = send(registry, "DELETE", f"/api/publisher/{added['id']}", headers={"Authorization": ADMIN})
    assert removed.status == 204
    assert _mint(registry, key) == 422
    assert (
        send(registry, "DELETE", f"/api/publisher/{added['id']}", headers={"Authorization": ADMIN}).status
        == 404
    )


@pytest.mark.parametrize(("authorization", "status"), [(None, 401), (DEV, 403)])
def test_only_admins_manage_publishers(registry: Registry, authorization: str | None, status: int) -> None:
    """Anonymous callers get 401 and other users 403 on every publisher route."""
    assert _add(registry, authorization, {"project": "acme-tool", "publisher": LINE})[0] == status
    headers = {"Authorization": authorization} if authorization else {}
    assert send(registry, "GET", "/api/publisher", headers=headers).status == status
    assert send(registry, "DELETE", "/api/publisher/acme-tool.0000", headers=headers).status == status


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"project": "acme-tool", "publisher": "github repo=acme/tool"}, "a github publisher needs workflow"),
        ({"project": "acme-tool", "publisher": "travis x=y"}, "the first word must name an issuer"),
        ({"project": "acme tool!", "publisher": LINE}, "is not a valid project name"),
        ({"project": "acme-tool"}, 'The body must be {"project"'),
        ([], 'The body must be {"project"'),
    ],
)
def test_bad_publishers_are_400(registry: Registry, body: object, message: str) -> None:
    """A publisher line that cannot be valid is refused with the config check's message."""
    status, text_body = _add(registry, ADMIN, body)
    assert status == 400
    assert message in text_body


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PYREGISTRY), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def test_cli_adds_lists_and_removes(tmp_path: Path, key: SigningKey) -> None:
    """`pyregistry publisher add/list/remove` manage stored publishers beside the config's."""
    config = _config(tmp_path, key)
    config["publisher.other.1"] = "github repo=acme/other workflow=ci.yml"
    ini = tmp_path / "pyregistry.ini"
    ini.write_text("[pyregistry]\n" + "".join(f"{k} = {v}\n" for k, v in config.items()))
    added = _cli("publisher", "add", "--config", str(ini), "acme-tool", *LINE.split())
    assert added.returncode == 0, added.stderr
    publisher_id = added.stdout.strip()
    listing = _cli("publisher", "list", "--config", str(ini))
    assert listing.stdout.splitlines() == [
        "other.1 project=other issuer=github repo=acme/other workflow=ci.yml source=config",
        f"{publisher_id} project=acme-tool issuer=github repo=acme/tool workflow=release.yml source=stored",
    ]
    assert _mint(Registry.from_config(ini), key) == 200
    assert _cli("publisher", "remove", "--config", str(ini), publisher_id).returncode == 0
    refused = _cli("publisher", "remove", "--config", str(ini), "other.1")
    assert refused.returncode == 1
    assert "no stored publisher 'other.1' (config ones change in the config)" in refused.stderr
    bad = _cli("publisher", "add", "--config", str(ini), "acme-tool", "github", "repo=acme/tool")
    assert bad.returncode == 2
    assert "a github publisher needs workflow" in bad.stderr


def test_fsck_clean_removes_expired_spent_token_ids(tmp_path: Path, key: SigningKey) -> None:
    """Spent jti records outlive their token only until `pyregistry fsck --clean` removes them."""
    config = {**_config(tmp_path, key), "publisher.acme-tool.1": LINE}
    ini = tmp_path / "pyregistry.ini"
    ini.write_text("[pyregistry]\n" + "".join(f"{k} = {v}\n" for k, v in config.items()))
    past = 1_700_000_000.0
    registry = Registry(Settings.from_ini(ini), wall_clock=lambda: past)
    token = key.sign(github_claims(past, AUDIENCE, environment=None))
    assert send(registry, "POST", "/_/oidc/mint-token", json.dumps({"token": token}).encode()).status == 200
    assert registry.trusted_publishing.spent.expired(past) == []
    report = _cli("fsck", "--config", str(ini))
    assert "1 spent OIDC token ids have expired" in report.stdout
    cleaned = _cli("fsck", "--config", str(ini), "--clean")
    assert "removed 1 expired OIDC token ids" in cleaned.stdout
    assert registry.trusted_publishing.spent.expired(time.time()) == []
