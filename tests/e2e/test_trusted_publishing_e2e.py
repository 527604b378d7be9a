"""Real ``uv publish --trusted-publishing always`` against a TLS server, with a local OIDC provider.

uv is run with the environment it sees inside GitHub Actions (``GITHUB_ACTIONS``,
``ACTIONS_ID_TOKEN_REQUEST_URL``/``_TOKEN``) or GitLab CI (``GITLAB_CI`` and the
``<AUDIENCE>_ID_TOKEN`` variable), so it asks the index for the audience, gets its token
from the provider, exchanges it, uploads, and burns the minted token, as in CI. Every
token that must not mint (another repository, workflow, CI file or environment, audience,
issuer; expired, forged, unsigned, signed by a key it names itself, replayed) is refused
through uv with PyPI's error code and description, and uploads nothing.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from distbuild import BuiltDists, DistBuilder
from e2e_support import BIN, Clients, Server, output
from oidc_support import OidcProvider, SigningKey, Tls, github_claims, gitlab_claims, make_tls

pytestmark = pytest.mark.e2e

AUDIENCE = "pyregistry-e2e"
GITLAB_TOKEN_VARIABLE = "PYREGISTRY_E2E_ID_TOKEN"  # ambient-id's name for the audience


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    """A throw-away CA and a loopback certificate, for the index and the providers."""
    return make_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def github(tls: Tls) -> Iterator[OidcProvider]:
    """A GitHub-like OIDC provider whose tokens say acme/tool's release.yml in environment pypi."""
    provider = OidcProvider(tls, SigningKey("RS256"))
    claims = github_claims(0, AUDIENCE)
    provider.claims = {k: v for k, v in claims.items() if k not in ("iss", "aud", "iat", "nbf", "exp", "jti")}
    with provider.running():
        yield provider


@pytest.fixture(scope="module")
def gitlab(tls: Tls) -> Iterator[OidcProvider]:
    """A GitLab-like issuer (only its keys are fetched: GitLab hands the job its token)."""
    provider = OidcProvider(tls, SigningKey("ES256"))
    with provider.running():
        yield provider


@pytest.fixture(scope="module", params=["serve", "wsgi", "asgi"])
def index(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    tls: Tls,
    github: OidcProvider,
    gitlab: OidcProvider,
) -> Iterator[tuple[Server, Path]]:
    """An HTTPS index where only the trusted publishers may upload; its config path."""
    root = tmp_path_factory.mktemp(f"tp-{request.param}")
    config = root / "pyregistry.ini"
    config.write_text(
        "\n".join(
            [
                "[pyregistry]",
                f"storage.dir = {root / 'packages'}",
                "pypi.default_write =",
                f"oidc.audience = {AUDIENCE}",
                f"oidc.ci.issuer = {github.url}",
                "oidc.ci.type = github",
                f"oidc.lab.issuer = {gitlab.url}",
                "oidc.lab.type = gitlab",
                "publisher.tp-demo.1 = ci repo=acme/tool workflow=release.yml environment=pypi",
                "publisher.tp-lab.1 = lab project=group/sub/proj ci_config=.gitlab-ci.yml"
                " environment=production",
                "",
            ]
        )
    )
    # The server fetches the providers' keys over HTTPS: it trusts the test CA.
    server = Server(
        request.param,
        config,
        root / "server.log",
        root,
        tls=(tls.ca, tls.cert, tls.key),
        env={"SSL_CERT_FILE": str(tls.ca)},
    )
    try:
        yield server, config
    finally:
        server.stop()


def _uv_publish(
    clients: Clients, server: Server, tls: Tls, dists: BuiltDists, **ci: str
) -> subprocess.CompletedProcess[str]:
    env = {**clients.env, "SSL_CERT_FILE": str(tls.ca), **ci}
    command = [
        str(BIN / "uv"),
        "publish",
        "--no-cache",
        "--publish-url",
        f"{server.url}/legacy/",
        "--trusted-publishing",
        "always",
        str(dists.wheel),
        str(dists.sdist),
    ]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=180, check=False)


def _github_env(provider: OidcProvider) -> dict[str, str]:
    return {
        "GITHUB_ACTIONS": "true",
        "ACTIONS_ID_TOKEN_REQUEST_URL": f"{provider.url}/token?api-version=2.0",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": OidcProvider.REQUEST_TOKEN,
    }


def _token_list(config: Path) -> str:
    result = subprocess.run(
        [str(BIN / "pyregistry"), "token", "list", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, output(result)
    return result.stdout


def test_github_workflow_publishes_with_uv(
    index: tuple[Server, Path], clients: Clients, tls: Tls, github: OidcProvider, build_dists: DistBuilder
) -> None:
    """uv in a trusted GitHub workflow uploads without any credential, and burns its token after."""
    server, config = index
    dists = build_dists("tp_demo", "1.0")
    result = _uv_publish(clients, server, tls, dists, **_github_env(github))
    assert result.returncode == 0, output(result)
    files = {f["filename"] for f in server.project_json("tp-demo")["files"]}
    assert files == {dists.wheel.name, dists.sdist.name}
    [line] = [line for line in _token_list(config).splitlines() if "projects=tp-demo" in line]
    assert " revoked" in line  # uv's burn-token after the upload
    assert "publisher=tp-demo.1" in line
    assert "repository=acme/tool" in line


def test_gitlab_job_publishes_with_uv(
    index: tuple[Server, Path], clients: Clients, tls: Tls, gitlab: OidcProvider, build_dists: DistBuilder
) -> None:
    """uv in a trusted GitLab job (token in <AUDIENCE>_ID_TOKEN) uploads to its project."""
    server, _config = index
    dists = build_dists("tp_lab", "1.0")
    token = gitlab.key.sign(gitlab_claims(time.time(), AUDIENCE, issuer=gitlab.url))
    result = _uv_publish(clients, server, tls, dists, GITLAB_CI="true", **{GITLAB_TOKEN_VARIABLE: token})
    assert result.returncode == 0, output(result)
    assert {f["filename"] for f in server.project_json("tp-lab")["files"]} == {
        dists.wheel.name,
        dists.sdist.name,
    }


@pytest.mark.parametrize("index", ["wsgi"], indirect=True)  # the core answers alike everywhere
def test_untrusted_workflow_is_refused_and_uploads_nothing(
    index: tuple[Server, Path], clients: Clients, tls: Tls, gitlab: OidcProvider, build_dists: DistBuilder
) -> None:
    """A job of another project gets PyPI's 422 error document from uv, and nothing is stored."""
    server, _config = index
    dists = build_dists("tp_lab", "2.0")
    token = gitlab.key.sign(gitlab_claims(time.time(), AUDIENCE, issuer=gitlab.url, project="group/other"))
    result = _uv_publish(clients, server, tls, dists, GITLAB_CI="true", **{GITLAB_TOKEN_VARIABLE: token})
    assert result.returncode != 0
    assert "invalid-publisher" in output(result)
    assert "valid token, but no corresponding publisher" in output(result)
    assert server.request("GET", "/pypi/tp-lab/2.0/json").status == 404


def _gitlab(changes: dict[str, Any] | None = None, **options: Any) -> Callable[[OidcProvider, Server], str]:
    """A GitLab job's token (``options`` for ``gitlab_claims``, then claims replaced by
    ``changes``), signed by GitLab's key."""

    def token(gitlab: OidcProvider, _server: Server) -> str:
        claims = gitlab_claims(time.time(), AUDIENCE, issuer=gitlab.url, **options)
        return gitlab.key.sign({**claims, **(changes or {})})

    return token


def _forged(gitlab: OidcProvider, _server: Server) -> str:
    """Signed by another key under GitLab's kid."""
    return SigningKey("ES256", kid=gitlab.key.kid).sign(
        gitlab_claims(time.time(), AUDIENCE, issuer=gitlab.url)
    )


def _unsigned(gitlab: OidcProvider, _server: Server) -> str:
    """alg none, under GitLab's kid."""
    claims = gitlab_claims(time.time(), AUDIENCE, issuer=gitlab.url)
    return jwt.encode(claims, None, algorithm="none", headers={"kid": gitlab.key.kid})


def _own_key_set(gitlab: OidcProvider, _server: Server) -> str:
    """Signed by an attacker's key that the token names itself (jku and jwk headers)."""
    attacker = SigningKey("ES256")
    headers = {"jku": "https://attacker.test/jwks", "jwk": attacker.jwk()}
    return attacker.sign(gitlab_claims(time.time(), AUDIENCE, issuer=gitlab.url), headers)


def _spent(gitlab: OidcProvider, server: Server) -> str:
    """A token whose jti already minted once."""
    token = gitlab.key.sign(gitlab_claims(time.time(), AUDIENCE, issuer=gitlab.url))
    reply = server.request("POST", "/_/oidc/mint-token", {}, json.dumps({"token": token}).encode())
    assert reply.status == 200, (reply.status, reply.body)
    return token


NO_PUBLISHER = "valid token, but no corresponding publisher"


@pytest.mark.parametrize("index", ["wsgi"], indirect=True)
@pytest.mark.parametrize(
    ("make_token", "code", "description"),
    [
        (_gitlab(ci_config="other.yml"), "invalid-publisher", NO_PUBLISHER),
        (_gitlab(environment="staging"), "invalid-publisher", NO_PUBLISHER),
        (_gitlab({"aud": "other-index"}), "invalid-token", f"the token's audience is not {AUDIENCE!r}"),
        (_gitlab({"iss": "https://issuer.test"}), "invalid-payload", "unknown trusted publishing issuer"),
        (_gitlab({"exp": int(time.time()) - 3600}), "invalid-token", "the token has expired"),
        (_forged, "invalid-token", "the token's signature does not verify"),
        (_unsigned, "invalid-token", "the token's algorithm 'none' is not one of RS256, ES256"),
        (_own_key_set, "invalid-token", "the token was signed by a key the issuer does not publish"),
        (_spent, "invalid-reuse-token", "invalid token: already used"),
    ],
    ids=[
        "ci-config",
        "environment",
        "audience",
        "issuer",
        "expired",
        "signature",
        "alg-none",
        "jwks-swap",
        "replay",
    ],
)
def test_refused_tokens_upload_nothing(
    index: tuple[Server, Path],
    clients: Clients,
    tls: Tls,
    gitlab: OidcProvider,
    build_dists: DistBuilder,
    make_token: Callable[[OidcProvider, Server], str],
    code: str,
    description: str,
) -> None:
    """uv with a token that must not mint shows PyPI's error code and description, and nothing is stored."""
    server, _config = index
    dists = build_dists("tp_lab", "3.0")
    token = make_token(gitlab, server)
    result = _uv_publish(clients, server, tls, dists, GITLAB_CI="true", **{GITLAB_TOKEN_VARIABLE: token})
    assert result.returncode != 0
    assert code in output(result)
    assert description in output(result)
    assert server.request("GET", "/pypi/tp-lab/3.0/json").status == 404


@pytest.mark.parametrize("index", ["wsgi"], indirect=True)
@pytest.mark.parametrize(
    "changes",
    [{"repository": "acme/other"}, {"workflow": "ci.yml"}, {"environment": "staging"}],
    ids=["repository", "workflow", "environment"],
)
def test_other_github_workflows_upload_nothing(
    index: tuple[Server, Path],
    clients: Clients,
    tls: Tls,
    github: OidcProvider,
    build_dists: DistBuilder,
    changes: dict[str, str],
) -> None:
    """uv in a workflow of another repository, workflow file or environment gets 422
    invalid-publisher from the index, and nothing is stored."""
    server, _config = index
    dists = build_dists("tp_demo", "3.0")
    trusted = github.claims
    claims = github_claims(0, AUDIENCE, **changes)
    github.claims = {k: v for k, v in claims.items() if k not in ("iss", "aud", "iat", "nbf", "exp", "jti")}
    try:
        result = _uv_publish(clients, server, tls, dists, **_github_env(github))
    finally:
        github.claims = trusted
    assert result.returncode != 0
    assert "invalid-publisher" in output(result)
    assert NO_PUBLISHER in output(result)
    assert server.request("GET", "/pypi/tp-demo/3.0/json").status == 404
