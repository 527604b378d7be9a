"""Authentication: config users in every ppc-gen-password format, htpasswd, API tokens, the cache."""

from __future__ import annotations

import base64
import io
import json
import os
from collections.abc import Callable
from pathlib import Path

import attrs
import pytest
from access_helpers import basic, fast_hash, make_registry, upload_form, wheel
from packaging.utils import canonicalize_name
from passlib.apache import HtpasswdFile
from passlib.hash import (
    apr_md5_crypt,
    argon2,
    bcrypt,
    ldap_sha1,
    md5_crypt,
    pbkdf2_sha256,
    pbkdf2_sha512,
    sha256_crypt,
)

from pyregistry_core import AuthenticationRequired, ConfigError, Identity, Registry, Request, handle
from pyregistry_core.auth.authenticator import Authenticator, hash_password

_INVALID = "Invalid or non-existent authentication information."
_BASIC_ONLY = "Only HTTP Basic credentials are accepted."

# Every format pypicloud's ppc-gen-password can write, each at a low cost.
HASHERS: dict[str, Callable[[str], str]] = {
    "sha512_crypt": fast_hash,
    "sha256_crypt": sha256_crypt.using(rounds=1000).hash,
    "pbkdf2_sha256": pbkdf2_sha256.using(rounds=1000).hash,
    "pbkdf2_sha512": pbkdf2_sha512.using(rounds=1000).hash,
    "bcrypt": bcrypt.using(rounds=4).hash,
    "argon2": argon2.using(rounds=1, memory_cost=64, parallelism=1).hash,
}
_PREFIXES = {
    "sha512_crypt": "$6$",
    "sha256_crypt": "$5$",
    "pbkdf2_sha256": "$pbkdf2-sha256$",
    "pbkdf2_sha512": "$pbkdf2-sha512$",
    "bcrypt": "$2b$",
    "argon2": "$argon2id$",
}


def _refused(registry: Registry, header: str) -> str:
    """The message of the 401 that ``header`` gets (fails if it authenticates)."""
    with pytest.raises(AuthenticationRequired) as caught:
        registry.authenticate(header)
    return caught.value.message


def _cheap_unknown_users(registry: Registry) -> Registry:
    """Swap in a cheap stand-in for the default-cost hash unknown users are checked against.

    For tests about what an unknown user gets, not what it costs (a second or more each
    at the default cost); the cost is pinned by the unknown-user test alone.
    """
    registry.authenticator.__dict__["_dummy_hash"] = fast_hash("unused")
    return registry


def _get(
    registry: Registry, path: str, authorization: str | None = None
) -> tuple[int, dict[str, str], bytes]:
    headers = {} if authorization is None else {"authorization": authorization}
    response = handle(registry, Request("GET", path, headers=headers))
    assert isinstance(response.body, bytes)
    return response.status, {k.lower(): v for k, v in response.headers}, response.body


# -- config users ------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", sorted(HASHERS))
def test_config_user_in_every_ppc_gen_password_format(scheme: str) -> None:
    """A user.<name> hash in any format ppc-gen-password writes authenticates the right password only."""
    hashed = HASHERS[scheme]("s3cret pass")
    assert hashed.startswith(_PREFIXES[scheme])
    registry = make_registry({"user.alice": hashed, "group.devs": "alice bob", "group.ops": "carol"})
    assert registry.authenticate(basic("alice", "s3cret pass")) == Identity(user="alice", groups=("devs",))
    assert _refused(registry, basic("alice", "s3cret pas")) == _INVALID


def test_hash_password_output_authenticates() -> None:
    """What hash_password prints (for a user.<name> entry) authenticates that password only."""
    hashed = hash_password("printed by the CLI")
    assert hashed.startswith(tuple(_PREFIXES.values()))
    registry = make_registry({"user.alice": hashed})
    assert registry.authenticate(basic("alice", "printed by the CLI")).user == "alice"
    assert _refused(registry, basic("alice", "printed by the cli")) == _INVALID


@pytest.mark.parametrize(
    "stored",
    ["plain-text-password", md5_crypt.hash("plain-text-password"), ""],
    ids=["plain", "md5_crypt", "empty"],
)
def test_a_user_value_that_is_no_hash_refuses_to_start(stored: str) -> None:
    """A user.<name> value that is not a supported hash (a pasted password) is a config error
    naming the key, and the message never repeats the value."""
    with pytest.raises(ConfigError) as info:
        make_registry({"user.alice": stored})
    assert info.value.message == (
        "user.alice is not a password hash pyregistry recognises (argon2, sha512_crypt, sha256_crypt, "
        "pbkdf2_sha256/512, bcrypt); put the output of `pyregistry hash-password` there, never the "
        "password itself"
    )


def test_a_truncated_hash_never_authenticates() -> None:
    """A user.<name> hash of a known scheme that is damaged is a 401 for that user, never a 500."""
    registry = make_registry({"user.alice": "$6$rounds=1000$broken", "pypi.default_read": "authenticated"})
    status, headers, body = _get(registry, "/simple/", basic("alice", "plain-text-password"))
    assert (status, headers["www-authenticate"], body) == (
        401,
        'Basic realm="pypi"',
        f"{_INVALID}\n".encode(),
    )


def test_settings_repr_hides_password_hashes() -> None:
    """The settings' repr never shows a user's hash."""
    hashed = fast_hash("pw")
    registry = make_registry({"user.alice": hashed})
    assert hashed not in repr(registry.settings)
    assert hashed.split("$")[-1] not in repr(registry.settings)


# -- htpasswd ----------------------------------------------------------------------------


def _htpasswd(path: Path, entries: dict[str, str]) -> Path:
    """Write an htpasswd file with passlib's HtpasswdFile; ``entries`` maps users to hashes."""
    file = HtpasswdFile(str(path), new=True)
    for user, hashed in entries.items():
        file.set_hash(user, hashed)
    file.save()
    return path


_HTPASSWD_HASHES = {
    "bcrypt": bcrypt.using(rounds=4, ident="2y").hash,
    "sha1": ldap_sha1.hash,
    "apr1": apr_md5_crypt.hash,
}


@pytest.mark.parametrize("scheme", sorted(_HTPASSWD_HASHES))
def test_htpasswd_entries(tmp_path: Path, scheme: str) -> None:
    """bcrypt ($2y$), SHA-1 ({SHA}) and apr1 htpasswd entries authenticate, with config groups."""
    path = _htpasswd(
        tmp_path / "users.htpasswd",
        {
            "bea": _HTPASSWD_HASHES["bcrypt"]("bea-pw"),
            "sam": _HTPASSWD_HASHES["sha1"]("sam-pw"),
            "april": _HTPASSWD_HASHES["apr1"]("april-pw"),
        },
    )
    text = path.read_text()
    assert "bea:$2y$04$" in text
    assert "sam:{SHA}" in text
    assert "april:$apr1$" in text
    user = {"bcrypt": "bea", "sha1": "sam", "apr1": "april"}[scheme]
    registry = make_registry({"auth.htpasswd": str(path), "group.team": user})
    assert registry.authenticate(basic(user, f"{user}-pw")) == Identity(user=user, groups=("team",))
    assert _refused(registry, basic(user, "wrong")) == _INVALID


def test_htpasswd_path_is_relative_to_the_config_file(tmp_path: Path) -> None:
    """auth.htpasswd in an INI file is read relative to that file's directory."""
    _htpasswd(tmp_path / "users.htpasswd", {"sam": ldap_sha1.hash("sam-pw")})
    config = tmp_path / "pyregistry.ini"
    config.write_text(
        "[pyregistry]\nstorage.url = memory://htpasswd-relative\nauth.htpasswd = users.htpasswd\n"
    )
    registry = Registry.from_config(config)
    assert registry.authenticate(basic("sam", "sam-pw")).user == "sam"


def test_htpasswd_changes_are_picked_up(tmp_path: Path) -> None:
    """A user added to the htpasswd file can log in without a restart."""
    path = _htpasswd(tmp_path / "users.htpasswd", {"sam": ldap_sha1.hash("sam-pw")})
    registry = _cheap_unknown_users(make_registry({"auth.htpasswd": str(path)}))
    assert registry.authenticate(basic("sam", "sam-pw")).user == "sam"
    assert _refused(registry, basic("april", "not-yet")) == _INVALID
    _htpasswd(path, {"sam": ldap_sha1.hash("sam-pw"), "april": apr_md5_crypt.hash("april-pw")})
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    assert registry.authenticate(basic("april", "april-pw")).user == "april"


def test_config_user_and_htpasswd_user_side_by_side(tmp_path: Path) -> None:
    """Config users and htpasswd users both authenticate on one registry."""
    path = _htpasswd(tmp_path / "users.htpasswd", {"sam": ldap_sha1.hash("sam-pw")})
    registry = make_registry({"auth.htpasswd": str(path), "user.alice": fast_hash("alice-pw")})
    assert registry.authenticate(basic("alice", "alice-pw")).user == "alice"
    assert registry.authenticate(basic("sam", "sam-pw")).user == "sam"
    assert _refused(registry, basic("alice", "sam-pw")) == _INVALID


# -- API tokens --------------------------------------------------------------------------


@pytest.fixture
def token_registry() -> Registry:
    """A registry with two users (alice an admin) where the index needs a login."""
    return make_registry(
        {
            "user.alice": fast_hash("alice-pw"),
            "user.bob": fast_hash("bob-pw"),
            "auth.admins": "alice",
            "group.devs": "bob",
            "pypi.default_read": "authenticated",
            "pypi.default_write": "authenticated",
        }
    )


def test_token_create_verify_list_revoke(token_registry: Registry) -> None:
    """A new token authenticates as its user narrowed to its projects; list shows it, then its revocation."""
    token, secret = token_registry.tokens.create("bob", ["Acme_Utils"], "upload")
    assert secret.startswith(f"pyreg-{token.id}-")
    assert token.projects == ("acme-utils",)
    identity = token_registry.authenticate(basic("__token__", secret))
    assert identity == Identity(
        user="bob",
        groups=("devs",),
        token_projects=frozenset({canonicalize_name("acme-utils")}),
        token_scope="upload",
    )
    other, _ = token_registry.tokens.create("alice", scope="read")
    assert [t.describe() for t in token_registry.tokens.list()] == [
        f"{token.id} user=bob scope=upload projects=acme-utils",
        f"{other.id} user=alice scope=read projects=*",
    ]
    assert token_registry.tokens.revoke(token.id) is True
    assert token_registry.tokens.list()[0].describe().endswith(" revoked")
    assert token_registry.tokens.revoke("0123456789abcdef") is False


def test_revoked_token_is_refused_at_once(token_registry: Registry) -> None:
    """A token revoked through the registry is refused by that registry's next request."""
    token, secret = token_registry.tokens.create("bob")
    assert _get(token_registry, "/simple/", basic("__token__", secret))[0] == 200
    assert token_registry.tokens.revoke(token.id) is True
    assert _get(token_registry, "/simple/", basic("__token__", secret))[0] == 401


def test_revocation_reaches_another_process_within_index_ttl() -> None:
    """A token revoked by one process is refused by another on the same storage (pypi.index_ttl = 0)."""
    settings = {
        "storage.url": "memory://token-replicas",
        "user.bob": fast_hash("bob-pw"),
        "pypi.index_ttl": "0",
        "pypi.default_read": "authenticated",
    }
    cli, server = Registry.from_config(settings), Registry.from_config(settings)
    token, secret = cli.tokens.create("bob")
    assert _get(server, "/simple/", basic("__token__", secret))[0] == 200
    assert cli.tokens.revoke(token.id) is True
    assert _get(server, "/simple/", basic("__token__", secret))[0] == 401


@pytest.mark.parametrize(
    "password",
    [
        "pyreg-",
        "pyreg-0123456789abcdef-",
        "pyreg-0123456789abcdef-nosuchsecret",
        "pyreg-../../etc-x",
        "notatoken",
        "",
        "pyreg-{id}-wrong-secret",
    ],
)
def test_wrong_or_malformed_tokens_are_401(token_registry: Registry, password: str) -> None:
    """__token__ with anything but a live token's exact string is a 401, never a 500."""
    token, _secret = token_registry.tokens.create("bob")
    status, headers, body = _get(token_registry, "/simple/", basic("__token__", password.format(id=token.id)))
    assert (status, headers["www-authenticate"], body) == (
        401,
        'Basic realm="pypi"',
        f"{_INVALID}\n".encode(),
    )
    assert token_registry.authenticator.verifications == 0


def test_token_secret_is_stored_only_hashed(token_registry: Registry) -> None:
    """Storage keeps a token's SHA-256, never the secret."""
    token, secret = token_registry.tokens.create("bob")
    with token_registry.storage.open_blob(f"tokens/{token.id}.json") as handle:
        stored = json.loads(handle.read())
    secret_part = secret.split("-", 2)[2]
    assert secret_part not in json.dumps(stored)
    assert stored["user"] == "bob"
    assert len(stored["secret_sha256"]) == 64


def _upload(registry: Registry, authorization: str, project: str) -> tuple[int, bytes]:
    body, content_type = upload_form(wheel(project))
    request = Request(
        "POST",
        "/",
        headers={
            "authorization": authorization,
            "content-type": content_type,
            "content-length": str(len(body)),
        },
        body=io.BytesIO(body),
    )
    response = handle(registry, request)
    assert isinstance(response.body, bytes)
    return response.status, response.body


def test_project_token_uploads_only_to_its_project(token_registry: Registry) -> None:
    """A token for project A uploads to A (any spelling) and gets 403 for project B."""
    _token, secret = token_registry.tokens.create("bob", ["Proj.A"])
    header = basic("__token__", secret)
    assert _upload(token_registry, header, "proj-a") == (200, b"OK\n")
    assert _upload(token_registry, header, "proj-b") == (
        403,
        b"The user 'bob' isn't allowed to write on project 'proj-b'.\n",
    )
    # Bob himself may upload proj-b: only the token is narrowed.
    assert _upload(token_registry, basic("bob", "bob-pw"), "proj-b") == (200, b"OK\n")


def test_project_token_reads_only_its_projects(token_registry: Registry) -> None:
    """A project token reads its project, gets 403 for another, and /simple/ lists only its projects."""
    for project in ("proj-a", "proj-b"):
        assert _upload(token_registry, basic("bob", "bob-pw"), project)[0] == 200
    _token, secret = token_registry.tokens.create("bob", ["proj-a"], "read")
    header = basic("__token__", secret)
    assert _get(token_registry, "/simple/proj-a/", header)[0] == 200
    assert _get(token_registry, "/simple/proj-b/", header)[:1] == (403,)
    index = _get(token_registry, "/simple/", header)[2].decode()
    assert "proj-a" in index
    assert "proj-b" not in index
    assert "proj-b" in _get(token_registry, "/simple/", basic("bob", "bob-pw"))[2].decode()


def test_read_scope_token_cannot_upload(token_registry: Registry) -> None:
    """A read-scope token reads but gets 403 for an upload its user could make."""
    _token, secret = token_registry.tokens.create("bob", scope="read")
    header = basic("__token__", secret)
    assert _get(token_registry, "/simple/", header)[0] == 200
    assert _upload(token_registry, header, "proj-a") == (
        403,
        b"This token may only read; it cannot upload.\n",
    )


def test_admin_token_is_narrowed_too(token_registry: Registry) -> None:
    """An admin's project token is limited to its project like anyone's."""
    _token, secret = token_registry.tokens.create("alice", ["proj-a"])
    assert _upload(token_registry, basic("__token__", secret), "proj-b") == (
        403,
        b"The user 'alice' isn't allowed to write on project 'proj-b'.\n",
    )


def test_token_of_a_user_removed_from_the_config_is_refused() -> None:
    """A token stops working once its user is no longer configured (access ends with the account)."""
    base = {"storage.url": "memory://token-user-removed", "pypi.default_read": "authenticated"}
    before = Registry.from_config({**base, "user.bob": fast_hash("bob-pw")})
    _token, secret = before.tokens.create("bob")
    after = Registry.from_config({**base, "user.carol": fast_hash("carol-pw")})
    assert _get(after, "/simple/", basic("__token__", secret))[0] == 401


# -- the verification cache ----------------------------------------------------------------


def test_same_credentials_verified_once() -> None:
    """Two requests with the same credentials cost one slow hash verification."""
    registry = make_registry({"user.alice": fast_hash("pw")})
    header = basic("alice", "pw")
    assert _get(registry, "/simple/", header)[0] == 200
    assert _get(registry, "/simple/", header)[0] == 200
    assert registry.authenticator.verifications == 1


def test_wrong_password_is_cached_and_another_password_is_verified() -> None:
    """A repeated wrong password costs one verification; each different password costs its own."""
    registry = make_registry({"user.alice": fast_hash("pw")})
    for _ in range(3):
        assert _refused(registry, basic("alice", "wrong")) == _INVALID
    assert registry.authenticator.verifications == 1
    assert _refused(registry, basic("alice", "other")) == _INVALID
    assert registry.authenticator.verifications == 2
    assert registry.authenticate(basic("alice", "pw")).user == "alice"
    assert registry.authenticator.verifications == 3


def test_unknown_user_costs_one_verification_like_a_wrong_password() -> None:
    """An unknown user name costs exactly one slow verification, as a wrong password does."""
    registry = make_registry({"user.alice": fast_hash("pw")})
    assert _refused(registry, basic("alice", "wrong")) == _INVALID
    assert registry.authenticator.verifications == 1
    assert _refused(registry, basic("mallory", "wrong")) == _INVALID
    assert registry.authenticator.verifications == 2


def test_cache_entries_expire_after_the_ttl() -> None:
    """Once the cache TTL has passed, the same credentials are verified again."""
    now = [1000.0]
    authenticator = Authenticator({"alice": fast_hash("pw")}, {}, ttl=60.0, timer=lambda: now[0])
    header = basic("alice", "pw")
    assert authenticator.authenticate(header).user == "alice"
    now[0] += 59.0
    assert authenticator.authenticate(header).user == "alice"
    assert authenticator.verifications == 1
    now[0] += 2.0
    assert authenticator.authenticate(header).user == "alice"
    assert authenticator.verifications == 2


def test_cache_never_holds_the_password(tmp_path: Path) -> None:
    """The credential cache's keys and values never contain a password or token secret."""
    htpasswd = _htpasswd(tmp_path / "users.htpasswd", {"sam": ldap_sha1.hash("sam-htpasswd-pw")})
    registry = make_registry({"user.alice": fast_hash("alice-config-pw"), "auth.htpasswd": str(htpasswd)})
    _token, secret = registry.tokens.create("alice")
    passwords = ["alice-config-pw", "sam-htpasswd-pw", "a-wrong-password", secret, secret.split("-", 2)[2]]
    registry.authenticate(basic("alice", "alice-config-pw"))
    registry.authenticate(basic("sam", "sam-htpasswd-pw"))
    registry.authenticate(basic("__token__", secret))
    _refused(registry, basic("alice", "a-wrong-password"))
    cache = registry.authenticator._cache
    assert len(cache) == 3  # tokens are never cached here, so a revocation is immediate
    for key, value in cache.items():
        dumped = repr(key).encode() + bytes(key) + repr(value).encode() + repr(attrs.asdict(value)).encode()
        for password in passwords:
            assert password.encode() not in dumped
            assert base64.b64encode(password.encode()) not in dumped


# -- malformed Authorization headers ---------------------------------------------------------


@pytest.fixture(scope="module")
def guarded() -> Registry:
    """A registry where reading needs a login (shared by the malformed-header cases)."""
    registry = Registry.from_config(
        {
            "storage.url": "memory://malformed-headers",
            "user.alice": fast_hash("pw"),
            "pypi.default_read": "authenticated",
        }
    )
    return _cheap_unknown_users(registry)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("Basic !!!", _BASIC_ONLY),
        ("Bearer x", _BASIC_ONLY),
        ("Digest username=alice", _BASIC_ONLY),
        ("", _BASIC_ONLY),
        ("Basic", _INVALID),
        ("Basic " + _b64(b"no-colon-here"), _INVALID),
        ("Basic " + _b64(b"\xff\xfe:\x00\x01"), _BASIC_ONLY),
        ("Basic " + _b64(b"alice:pw") + "garbage", _BASIC_ONLY),
        ("Basic " + _b64(b"alice:pw" * 2000), _INVALID),
    ],
    ids=[
        "not-base64",
        "bearer",
        "digest",
        "empty",
        "no-credentials",
        "no-colon",
        "not-utf8",
        "trailing-garbage",
        "huge",
    ],
)
def test_malformed_authorization_is_401(guarded: Registry, header: str, message: str) -> None:
    """A malformed or non-Basic Authorization header is a 401 with the Basic challenge, never a 500."""
    status, headers, body = _get(guarded, "/simple/", header)
    assert (status, headers["www-authenticate"], body) == (401, 'Basic realm="pypi"', f"{message}\n".encode())


def test_empty_basic_credentials_are_anonymous(guarded: Registry) -> None:
    """`Basic Og==` (empty user name and password) is anonymous: 401 asking for credentials where
    anonymous may not read, and no hash is verified for it."""
    before = guarded.authenticator.verifications
    assert guarded.authenticate("Basic Og==") == Identity()
    status, headers, body = _get(guarded, "/simple/", "Basic Og==")
    assert (status, headers["www-authenticate"], body) == (
        401,
        'Basic realm="pypi"',
        b"Authentication required.\n",
    )
    assert guarded.authenticator.verifications == before


def test_credentials_are_401_where_nobody_can_log_in() -> None:
    """With no users and no tokens, credentials that match nobody are 401 on every request."""
    registry = make_registry({"pypi.default_write": "everyone"})
    assert _get(registry, "/simple/")[0] == 200
    assert _get(registry, "/simple/", basic("any", "any"))[0] == 401


def test_malformed_authorization_on_an_open_index_is_still_401() -> None:
    """Bad credentials are refused even where anonymous callers may read: never silently anonymous."""
    registry = make_registry({"user.alice": fast_hash("pw")})
    assert _get(registry, "/simple/")[0] == 200
    assert _get(registry, "/simple/", "Basic !!!")[0] == 401
    assert _get(registry, "/simple/", basic("alice", "nope"))[0] == 401
