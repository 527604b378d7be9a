"""Trusted publishing through ``handle()``: audience, mint, burn, and uploads with minted tokens."""

from __future__ import annotations

import base64
import json
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from oidc_support import SigningKey, github_claims, gitlab_claims, jwks
from registry_http import body_bytes, listed, make_wheel, send, text, upload

from pyregistry_core import Registry, Settings
from pyregistry_core.web.messages import Response

AUDIENCE = "pyregistry-test"
START = 1_800_000_000.0
DOCS = Path(__file__).resolve().parent.parent / "docs"


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def github_key() -> SigningKey:
    """GitHub's (test) signing key, RS256 as GitHub's."""
    return SigningKey("RS256")


@pytest.fixture(scope="module")
def gitlab_key() -> SigningKey:
    """GitLab's (test) signing key."""
    return SigningKey("ES256")


@pytest.fixture
def clock() -> Clock:
    """The registry's wall clock."""
    return Clock()


def _config(tmp_path: Path, github_key: SigningKey, gitlab_key: SigningKey, **extra: str) -> dict[str, str]:
    (tmp_path / "github.jwks").write_text(json.dumps(jwks(github_key)))
    (tmp_path / "gitlab.jwks").write_text(json.dumps(jwks(gitlab_key)))
    return {
        "storage.url": "memory://trusted",
        "pypi.default_write": "",
        "oidc.audience": AUDIENCE,
        "oidc.github.jwks_file": str(tmp_path / "github.jwks"),
        "oidc.gitlab.jwks_file": str(tmp_path / "gitlab.jwks"),
        "publisher.acme-tool.1": "github repo=acme/tool workflow=release.yml environment=pypi",
        "publisher.proj.1": "gitlab project=group/sub/proj ci_config=.gitlab-ci.yml environment=production",
        **extra,
    }


@pytest.fixture
def registry(tmp_path: Path, github_key: SigningKey, gitlab_key: SigningKey, clock: Clock) -> Registry:
    """A registry where only trusted publishers (and nobody else) may upload."""
    return Registry(Settings.from_mapping(_config(tmp_path, github_key, gitlab_key)), wall_clock=clock)


def mint(registry: Registry, token: str, host: str = "index.test") -> Response:
    """POST the identity token to /_/oidc/mint-token as uv does."""
    return send(registry, "POST", "/_/oidc/mint-token", json.dumps({"token": token}).encode(), {"Host": host})


def refused(response: Response) -> tuple[int, str, str]:
    """Status, error code and description of a refused mint."""
    document = json.loads(body_bytes(response))
    assert document["message"] == "Token request failed"
    [error] = document["errors"]
    return response.status, error["code"], error["description"]


def basic(token: str) -> dict[str, str]:
    """The Authorization header uv sends with a minted token."""
    return {"Authorization": "Basic " + base64.b64encode(f"__token__:{token}".encode()).decode()}


def _github_token(key: SigningKey, **changes: Any) -> str:
    return key.sign(github_claims(START, AUDIENCE, **changes))


def test_audience_is_the_configured_one(registry: Registry) -> None:
    """GET /_/oidc/audience answers the configured audience as JSON."""
    response = send(registry, "GET", "/_/oidc/audience")
    assert response.status == 200
    assert json.loads(body_bytes(response)) == {"audience": AUDIENCE}


def test_audience_defaults_to_the_host(
    tmp_path: Path, github_key: SigningKey, gitlab_key: SigningKey
) -> None:
    """Without oidc.audience the audience is the host the client reached the index by."""
    config = _config(tmp_path, github_key, gitlab_key)
    del config["oidc.audience"]
    registry = Registry(Settings.from_mapping(config))
    response = send(registry, "GET", "/_/oidc/audience", headers={"Host": "Pypi.Acme.Test:8443"})
    assert json.loads(body_bytes(response)) == {"audience": "pypi.acme.test:8443"}


def test_without_publishers_trusted_publishing_is_off(tmp_path: Path) -> None:
    """With no publisher configured the audience is 403 and minting 422 not-enabled."""
    registry = Registry(Settings.from_mapping({"storage.url": "memory://off"}))
    response = send(registry, "GET", "/_/oidc/audience")
    assert response.status == 403
    assert json.loads(body_bytes(response)) == {"message": "Trusted publishing functionality not enabled"}
    assert refused(mint(registry, "x.y.z")) == (
        422,
        "not-enabled",
        "trusted publishing functionality not enabled",
    )


def test_matching_github_workflow_mints_a_token_that_uploads(
    registry: Registry, github_key: SigningKey
) -> None:
    """A token from the trusted repository, workflow and environment mints an upload token."""
    response = mint(registry, _github_token(github_key))
    assert response.status == 200, text(response)
    document = json.loads(body_bytes(response))
    assert document["success"] is True
    assert document["expires"] == int(START + 900)
    dist = make_wheel("acme-tool", "1.0")
    assert upload(registry, dist, basic(document["token"])).status == 200
    assert list(listed(registry, "acme-tool")) == [dist.filename]


def test_repository_matches_case_insensitively(registry: Registry, github_key: SigningKey) -> None:
    """GitHub repository names are case-insensitive, as on PyPI."""
    response = mint(registry, _github_token(github_key, repository="ACME/Tool"))
    assert response.status == 200, text(response)


@pytest.mark.parametrize(
    ("changes", "shown"),
    [
        ({"repository": "acme/other"}, "repository=acme/other"),
        ({"workflow": "ci.yml"}, "job_workflow_ref=acme/tool/.github/workflows/ci.yml@refs/tags/v1.0"),
        ({"environment": "staging"}, "environment=staging"),
        ({"environment": None}, "repository=acme/tool"),
    ],
    ids=["repository", "workflow", "environment", "no-environment"],
)
def test_other_identities_get_no_token(
    registry: Registry, github_key: SigningKey, changes: dict[str, Any], shown: str
) -> None:
    """A wrong repository, workflow or environment is 422 invalid-publisher, naming the token's claims."""
    status, code, description = refused(mint(registry, _github_token(github_key, **changes)))
    assert (status, code) == (422, "invalid-publisher")
    assert description.startswith(
        "valid token, but no corresponding publisher (no trusted publisher matches "
    )
    assert shown in description
    assert registry.tokens.list() == []


def test_wrong_audience_is_refused(registry: Registry, github_key: SigningKey) -> None:
    """A token for another index's audience is refused."""
    token = github_key.sign(github_claims(START, "other-index"))
    assert refused(mint(registry, token)) == (
        422,
        "invalid-token",
        f"the token's audience is not {AUDIENCE!r}",
    )


def test_unknown_issuer_is_refused(registry: Registry, github_key: SigningKey) -> None:
    """A token from an issuer nobody configured is refused before any key is looked up."""
    token = github_key.sign(github_claims(START, AUDIENCE, issuer="https://evil.example"))
    assert refused(mint(registry, token)) == (422, "invalid-payload", "unknown trusted publishing issuer")


def test_expired_token_is_refused(registry: Registry, github_key: SigningKey, clock: Clock) -> None:
    """A token past its exp (beyond the leeway) is refused."""
    token = _github_token(github_key)
    clock.now = START + 300 + 31
    assert refused(mint(registry, token)) == (422, "invalid-token", "the token has expired")


def test_token_from_the_future_is_refused(registry: Registry, github_key: SigningKey, clock: Clock) -> None:
    """A token whose iat is ahead of our clock beyond the leeway is refused."""
    token = _github_token(github_key)
    clock.now = START - 120
    assert refused(mint(registry, token))[2] == "the token was issued in the future"


def test_token_not_valid_yet_is_refused_until_its_nbf(
    registry: Registry, github_key: SigningKey, clock: Clock
) -> None:
    """A token whose nbf is ahead of our clock beyond the leeway is refused; once the clock
    reaches its nbf the same token mints."""
    claims = github_claims(START, AUDIENCE, lifetime=600)
    claims["nbf"] = START + 120
    token = github_key.sign(claims)
    clock.now = START + 120 - 31
    assert refused(mint(registry, token)) == (422, "invalid-token", "the token is not valid yet")
    assert registry.tokens.list() == []
    clock.now = START + 120
    assert mint(registry, token).status == 200


def test_bad_signature_is_refused(registry: Registry, github_key: SigningKey) -> None:
    """A token signed by another key under GitHub's kid does not verify."""
    forger = SigningKey("RS256", kid=github_key.kid)
    token = forger.sign(github_claims(START, AUDIENCE))
    assert refused(mint(registry, token)) == (422, "invalid-token", "the token's signature does not verify")


def test_swapped_jwks_url_is_ignored(registry: Registry) -> None:
    """A token naming its own key set (jku/jwk headers) and key is refused: only our JWKS counts."""
    attacker = SigningKey("ES256")
    token = attacker.sign(
        github_claims(START, AUDIENCE), {"jku": "https://evil.example/jwks", "jwk": attacker.jwk()}
    )
    assert refused(mint(registry, token)) == (
        422,
        "invalid-token",
        "the token was signed by a key the issuer does not publish",
    )


def test_alg_none_is_refused(registry: Registry, github_key: SigningKey) -> None:
    """An unsigned token (alg none) is refused."""
    token = jwt.encode(
        github_claims(START, AUDIENCE), None, algorithm="none", headers={"kid": github_key.kid}
    )
    assert refused(mint(registry, token)) == (
        422,
        "invalid-token",
        "the token's algorithm 'none' is not one of RS256, ES256",
    )


def test_hmac_with_the_public_key_is_refused(registry: Registry, github_key: SigningKey) -> None:
    """An HS256 token keyed with the issuer's public key (algorithm confusion) is refused."""
    header = base64.urlsafe_b64encode(json.dumps({"alg": "HS256", "kid": github_key.kid}).encode())
    body = base64.urlsafe_b64encode(json.dumps(github_claims(START, AUDIENCE)).encode())
    token = f"{header.decode().rstrip('=')}.{body.decode().rstrip('=')}.c2ln"
    assert refused(mint(registry, token))[1] == "invalid-token"


def test_replayed_jti_is_refused(registry: Registry, github_key: SigningKey) -> None:
    """The same identity token mints once; its replay is 422 invalid-reuse-token."""
    token = _github_token(github_key)
    assert mint(registry, token).status == 200
    assert refused(mint(registry, token)) == (422, "invalid-reuse-token", "invalid token: already used")
    assert len(registry.tokens.list()) == 1


def test_replay_is_refused_by_another_replica(
    tmp_path: Path, github_key: SigningKey, gitlab_key: SigningKey, clock: Clock
) -> None:
    """Two registries on one storage share the spent jti."""
    settings = Settings.from_mapping(_config(tmp_path, github_key, gitlab_key))
    first, second = Registry(settings, wall_clock=clock), Registry(settings, wall_clock=clock)
    token = _github_token(github_key)
    assert mint(first, token).status == 200
    assert refused(mint(second, token))[1] == "invalid-reuse-token"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[]",
        b'{"token": 5}',
        b'{"other": "x"}',
        b'{"token": "abc"}',
        b'{"token": ' + b"[" * 5000,
    ],
    ids=["empty", "text", "list", "number", "missing", "not-a-jwt", "nested-past-the-recursion-limit"],
)
def test_malformed_requests_are_invalid_payload(registry: Registry, body: bytes) -> None:
    """A body that is not {"token": <jwt>} is 422 invalid-payload, never a 500."""
    response = send(registry, "POST", "/_/oidc/mint-token", body)
    assert refused(response)[:2] == (422, "invalid-payload")


def test_minted_token_cannot_upload_to_another_project(registry: Registry, github_key: SigningKey) -> None:
    """The minted token uploads only to its publisher's project: elsewhere it is 403."""
    token = json.loads(body_bytes(mint(registry, _github_token(github_key))))["token"]
    response = upload(registry, make_wheel("proj", "1.0"), basic(token))
    assert response.status == 403
    assert listed(registry, "proj") == {}


def test_minted_token_expires(registry: Registry, github_key: SigningKey, clock: Clock) -> None:
    """After oidc.token_lifetime the minted token no longer authenticates (401)."""
    token = json.loads(body_bytes(mint(registry, _github_token(github_key))))["token"]
    clock.now = START + 900
    response = upload(registry, make_wheel("acme-tool", "1.0"), basic(token))
    assert response.status == 401
    assert listed(registry, "acme-tool") == {}


def test_token_lifetime_is_configurable(
    tmp_path: Path, github_key: SigningKey, gitlab_key: SigningKey, clock: Clock
) -> None:
    """With oidc.token_lifetime = 60 the minted token says so and stops uploading after 60 s."""
    config = _config(tmp_path, github_key, gitlab_key, **{"oidc.token_lifetime": "60"})
    registry = Registry(Settings.from_mapping(config), wall_clock=clock)
    document = json.loads(body_bytes(mint(registry, _github_token(github_key))))
    assert document["expires"] == int(START + 60)
    clock.now = START + 59
    assert upload(registry, make_wheel("acme-tool", "1.0"), basic(document["token"])).status == 200
    clock.now = START + 60
    response = upload(registry, make_wheel("acme-tool", "1.1"), basic(document["token"]))
    assert response.status == 401
    assert list(listed(registry, "acme-tool")) == [make_wheel("acme-tool", "1.0").filename]


def test_burnt_token_stops_working(registry: Registry, github_key: SigningKey) -> None:
    """POST /_/oidc/burn-token (uv's last step) revokes the minted token at once."""
    token = json.loads(body_bytes(mint(registry, _github_token(github_key))))["token"]
    response = send(registry, "POST", "/_/oidc/burn-token", json.dumps({"token": token}).encode())
    assert response.status == 202
    assert upload(registry, make_wheel("acme-tool", "1.0"), basic(token)).status == 401
    [stored] = registry.tokens.list()
    assert stored.revoked


def test_burn_answers_202_for_anything(registry: Registry) -> None:
    """burn-token tells nobody which tokens exist: an unknown token is 202 too."""
    response = send(registry, "POST", "/_/oidc/burn-token", json.dumps({"token": "pyreg-abc-def"}).encode())
    assert response.status == 202


def test_minted_token_is_listed_with_its_claims(registry: Registry, github_key: SigningKey) -> None:
    """token list shows the publisher and the claims that earned the token, and its expiry."""
    assert mint(registry, _github_token(github_key)).status == 200
    [token] = registry.tokens.list()
    line = token.describe()
    assert f"user=publisher:acme-tool.1 scope=upload projects=acme-tool expires={int(START + 900)}" in line
    assert "publisher=acme-tool.1 sub=repo:acme/tool:environment:pypi repository=acme/tool" in line
    assert "job_workflow_ref=acme/tool/.github/workflows/release.yml@refs/tags/v1.0" in line


def test_pending_publisher_creates_the_project(registry: Registry, github_key: SigningKey) -> None:
    """A publisher for a project that does not exist yet: its first upload creates it."""
    assert listed(registry, "acme-tool") == {}
    token = json.loads(body_bytes(mint(registry, _github_token(github_key))))["token"]
    assert upload(registry, make_wheel("acme-tool", "0.1"), basic(token)).status == 200
    assert send(registry, "GET", "/simple/acme-tool/").status == 200


def test_gitlab_pipeline_mints(registry: Registry, gitlab_key: SigningKey) -> None:
    """A GitLab job of the trusted project, CI file and environment mints a token for its project."""
    response = mint(registry, gitlab_key.sign(gitlab_claims(START, AUDIENCE, project="Group/Sub/Proj")))
    assert response.status == 200, text(response)
    token = json.loads(body_bytes(response))["token"]
    assert upload(registry, make_wheel("proj", "1.0"), basic(token)).status == 200


@pytest.mark.parametrize(
    "changes", [{"ci_config": "other.yml"}, {"environment": "Production"}, {"project": "group/other"}]
)
def test_other_gitlab_identities_get_no_token(
    registry: Registry, gitlab_key: SigningKey, changes: dict[str, Any]
) -> None:
    """Another CI file, project, or an environment differing in case (GitLab's are exact) is refused."""
    token = gitlab_key.sign(gitlab_claims(START, AUDIENCE, **changes))
    assert refused(mint(registry, token))[:2] == (422, "invalid-publisher")


def test_custom_issuer_matches_exact_claims(
    tmp_path: Path, github_key: SigningKey, gitlab_key: SigningKey
) -> None:
    """A custom issuer named by URL, with its key set in a file, matches its configured claims exactly."""
    corp = SigningKey("ES256")
    (tmp_path / "corp.jwks").write_text(json.dumps(jwks(corp)))
    config = _config(
        tmp_path,
        github_key,
        gitlab_key,
        **{
            "oidc.corp.issuer": "https://ci.corp.test/oidc",
            "oidc.corp.jwks_file": "corp.jwks",
            "publisher.corp-lib.1": "corp sub=pipeline:corp-lib:release",
        },
    )
    registry = Registry(Settings.from_mapping(config, base_dir=str(tmp_path)), wall_clock=Clock())
    claims = {"iss": "https://ci.corp.test/oidc", "aud": AUDIENCE, "iat": START, "exp": START + 60}
    assert mint(registry, corp.sign({**claims, "sub": "pipeline:corp-lib:release"})).status == 200
    assert (
        refused(mint(registry, corp.sign({**claims, "sub": "pipeline:corp-lib:test"})))[1]
        == "invalid-publisher"
    )


@pytest.mark.parametrize("document", [b"[" * 100_000, b'{"keys": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"])
def test_a_key_set_nested_past_the_recursion_limit_is_refused(
    tmp_path: Path, github_key: SigningKey, gitlab_key: SigningKey, document: bytes
) -> None:
    """A key set nested deeper than Python's recursion limit is "not a JWKS" (422), never a 500."""
    config = _config(tmp_path, github_key, gitlab_key)
    (tmp_path / "github.jwks").write_bytes(document)
    registry = Registry(Settings.from_mapping(config), wall_clock=Clock())
    assert refused(mint(registry, _github_token(github_key))) == (
        422,
        "invalid-token",
        "the key set of https://token.actions.githubusercontent.com is not a JWKS",
    )


def test_audience_and_mint_are_not_cached(registry: Registry, github_key: SigningKey) -> None:
    """Every trusted publishing answer says Cache-Control: no-store."""
    assert send(registry, "GET", "/_/oidc/audience").header("cache-control") == "no-store"
    assert mint(registry, _github_token(github_key)).header("cache-control") == "no-store"


def test_wrong_methods(registry: Registry) -> None:
    """audience is GET only, mint/burn POST only, other names 404."""
    assert send(registry, "POST", "/_/oidc/audience", b"").status == 405
    assert send(registry, "GET", "/_/oidc/mint-token").status == 405
    assert send(registry, "GET", "/_/oidc/other").status == 404


def _ini_blocks(page: Path) -> list[str]:
    return re.findall(r"^```ini\n(.*?)^```", page.read_text(), re.MULTILINE | re.DOTALL)


@pytest.mark.parametrize("page", ["quickstart-trusted-publishing.md", "configuration.md"])
def test_documented_configs_load_as_written(tmp_path: Path, page: str) -> None:
    """The trusted publishing INI examples of the quickstart and of the configuration
    reference (GitHub, GitLab, and a custom issuer named by its URL) are valid configs
    with publishers, loaded as they are written."""
    blocks = [b for b in _ini_blocks(DOCS / page) if "publisher." in b]
    assert len(blocks) == 3
    kinds = set()
    for number, block in enumerate(blocks):
        path = tmp_path / f"example-{number}.ini"
        path.write_text(block)
        trust = Settings.from_ini(path).trust
        assert trust.audience == "pypi.acme.internal"
        assert trust.publishers, block
        for publisher in trust.publishers:
            issuer = trust.issuers[publisher.issuer]
            kinds.add(issuer.kind)
            if issuer.kind == "generic":
                assert f"oidc.{issuer.name}.issuer = {issuer.url}" in block
    assert kinds == {"github", "gitlab", "generic"}


def test_minted_token_only_uploads(registry: Registry, github_key: SigningKey) -> None:
    """The minted token cannot yank, delete or change a status, even on its own project."""
    token = json.loads(body_bytes(mint(registry, _github_token(github_key))))["token"]
    assert upload(registry, make_wheel("acme-tool", "1.0"), basic(token)).status == 200
    as_json = {"Content-Type": "application/json", **basic(token)}
    yank = send(registry, "POST", "/api/package/acme-tool/1.0/yank", b"{}", as_json)
    assert (yank.status, text(yank)) == (403, "A token minted by trusted publishing may only upload.\n")
    status = send(registry, "POST", "/api/package/acme-tool/status", b'{"status": "archived"}', as_json)
    assert status.status == 403
    assert send(registry, "DELETE", "/api/package/acme-tool/1.0", None, basic(token)).status == 403


def test_quickstart_commands_run_as_written(tmp_path: Path) -> None:
    """The quickstart's `publisher add` and `publisher list` work on its GitHub example config."""
    page = (DOCS / "quickstart-trusted-publishing.md").read_text()
    (tmp_path / "pyregistry.ini").write_text(_ini_blocks(DOCS / "quickstart-trusted-publishing.md")[0])
    [block] = re.findall(r"^```sh\n(.*?)^```", page, re.MULTILINE | re.DOTALL)
    pyregistry = Path(sys.executable).parent / "pyregistry"
    outputs = []
    for line in block.splitlines():
        words = shlex.split(line)
        assert words[0] == "pyregistry"
        result = subprocess.run(
            [str(pyregistry), *words[1:]],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout)
    added = outputs[0].strip()
    assert added.startswith("acme-tool.")
    assert f"{added} project=acme-tool issuer=github repo=acme/tool" in outputs[1]


def test_quickstart_prefix_recipe_routes_oidc_to_a_mounted_index(
    tmp_path: Path, github_key: SigningKey
) -> None:
    """The quickstart's WSGI wrapper answers /_/oidc/ at the host root for an index mounted under a prefix."""
    import pyregistry_wsgi
    from werkzeug.middleware.dispatcher import DispatcherMiddleware
    from werkzeug.test import Client
    from werkzeug.wrappers import Response as HostResponse

    [block] = re.findall(
        r"^```python\n(.*?)^```", (DOCS / "quickstart-trusted-publishing.md").read_text(), re.M | re.S
    )
    namespace: dict[str, Any] = {}
    exec(block, namespace)  # noqa: S102 - the documented recipe, run as written
    (tmp_path / "github.jwks").write_text(json.dumps(jwks(github_key)))
    registry = Registry.from_config(
        {
            "storage.url": "memory://prefixed",
            "oidc.github.jwks_file": str(tmp_path / "github.jwks"),
            "publisher.acme-tool.1": "github repo=acme/tool workflow=release.yml",
        }
    )
    registry_app = pyregistry_wsgi.make_app(registry)
    host_app = DispatcherMiddleware(HostResponse("the host app"), {"/tools/pypi": registry_app})
    client = Client(namespace["with_trusted_publishing"](host_app, registry_app))
    audience = client.get("/_/oidc/audience", headers={"Host": "tools.acme.test"})
    assert (audience.status_code, audience.json) == (200, {"audience": "tools.acme.test"})
    token = github_key.sign(github_claims(time.time(), "tools.acme.test", environment=None))
    assert (
        client.post(
            "/_/oidc/mint-token", json={"token": token}, headers={"Host": "tools.acme.test"}
        ).status_code
        == 200
    )
    assert client.get("/tools/pypi/simple/").status_code == 200
    assert client.get("/elsewhere").get_data() == b"the host app"
