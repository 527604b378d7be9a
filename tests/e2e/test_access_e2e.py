"""Access control with real pip, uv and twine against ``pyregistry serve`` (DESIGN.md → Deployments).

Three servers, one per deployment: a personal publishing server (anyone installs, only
logged-in users upload), an organisation's private registry (nothing readable without
credentials, per-package entries) and an unchanged pypicloud ``[app:main]`` file.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from access_helpers import basic, fast_hash
from distbuild import BuiltDists, DistBuilder
from e2e_support import BIN, CLIENT_TIMEOUT, HOST, Clients, Server, output
from passlib.hash import sha512_crypt

pytestmark = pytest.mark.e2e

# An access line of the server's log: method, path, status (with or without the protocol).
_ACCESS = re.compile(r'"(GET|HEAD|POST|DELETE) (\S+?)(?: HTTP/1\.[01])?" (\d{3})')


def _statuses(server: Server, offset: int, path: str) -> set[int]:
    """Statuses the server logged for ``path`` after ``offset`` of its log."""
    with server.log_path.open("rb") as log:
        log.seek(offset)
        text = log.read().decode(errors="replace")
    return {int(status) for _method, seen, status in _ACCESS.findall(text) if seen == path}


def _run(clients: Clients, command: Sequence[str], **extra_env: str) -> subprocess.CompletedProcess[str]:
    """A client command with the clean client environment plus ``extra_env``."""
    return subprocess.run(
        list(command),
        env={**clients.env, **extra_env},
        capture_output=True,
        text=True,
        timeout=CLIENT_TIMEOUT,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def _twine(
    clients: Clients, server: Server, files: Sequence[Path], *credentials: str
) -> subprocess.CompletedProcess[str]:
    """``twine upload`` of ``files``; ``credentials`` are extra arguments such as ``-u U -p P``."""
    return clients.run(
        [
            str(BIN / "twine"),
            "upload",
            "--non-interactive",
            "--disable-progress-bar",
            "--repository-url",
            f"{server.url}/legacy/",
            *credentials,
            *map(str, files),
        ]
    )


def _index_url(server: Server, user: str | None = None, password: str | None = None) -> str:
    userinfo = f"{user}:{password}@" if user is not None else ""
    return f"http://{userinfo}{HOST}:{server.port}/simple/"


def _pip_install(
    clients: Clients, python: Path, index_url: str, requirement: str, **extra_env: str
) -> subprocess.CompletedProcess[str]:
    return _run(
        clients,
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-cache-dir",
            "--no-deps",
            "--index-url",
            index_url,
            requirement,
        ],
        **extra_env,
    )


def _installed(clients: Clients, python: Path, module: str) -> str:
    result = clients.run([str(python), "-c", f"import {module}; print({module}.__version__)"])
    assert result.returncode == 0, output(result)
    return result.stdout.strip()


def _serve(root: Path, lines: Sequence[str], section: str = "[pyregistry]") -> Iterator[Server]:
    config = root / "registry.ini"
    config.write_text("\n".join([section, *lines]) + "\n")
    server = Server("serve", config, root / "server.log", root)
    try:
        yield server
    finally:
        server.stop()


# -- personal publishing server ------------------------------------------------------------

PAT, PAT_PASSWORD = "pat", "pat-secret"


@pytest.fixture(scope="module")
def personal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`pyregistry serve` as a personal publishing server: anyone reads, pat uploads."""
    yield from _serve(
        tmp_path_factory.mktemp("personal"),
        [
            "storage.dir = packages",
            "pypi.fallback = none",
            "pypi.default_read = everyone",
            "pypi.default_write = authenticated",
            f"user.{PAT} = {fast_hash(PAT_PASSWORD)}",
        ],
    )


@pytest.fixture(scope="module")
def pat_tool(build_dists: DistBuilder) -> BuiltDists:
    """Pat_Tool 1.0, wheel and sdist."""
    return build_dists("Pat_Tool", "1.0")


def _token(clients: Clients, server: Server, *args: str) -> str:
    config = server.log_path.parent / "registry.ini"
    result = clients.run([str(BIN / "pyregistry"), "token", "create", "--config", str(config), *args])
    assert result.returncode == 0, output(result)
    return result.stdout.strip()


def test_personal_upload_needs_a_login(personal: Server, clients: Clients, pat_tool: BuiltDists) -> None:
    """Anonymous twine is refused with 401; twine -u/-p uploads."""
    offset = personal.log_size()
    # Empty credentials: twine sends no Authorization header at all.
    anonymous = _twine(clients, personal, [pat_tool.wheel], "-u", "", "-p", "")
    assert anonymous.returncode != 0, output(anonymous)
    assert "401" in anonymous.stdout + anonymous.stderr, output(anonymous)
    assert _statuses(personal, offset, "/legacy/") == {401}
    wrong = _twine(clients, personal, [pat_tool.wheel], "-u", PAT, "-p", "not-the-password")
    assert wrong.returncode != 0, output(wrong)
    assert "401" in wrong.stdout + wrong.stderr, output(wrong)
    uploaded = _twine(clients, personal, [pat_tool.wheel], "-u", PAT, "-p", PAT_PASSWORD)
    assert uploaded.returncode == 0, output(uploaded)


def test_personal_anonymous_pip_install(
    personal: Server, clients: Clients, pat_tool: BuiltDists, fresh_venv: Path
) -> None:
    """Anyone installs from the personal server without credentials."""
    # Upload (again: an identical re-upload is a harmless 200) so this test stands alone.
    result = _twine(clients, personal, [pat_tool.wheel], "-u", PAT, "-p", PAT_PASSWORD)
    assert result.returncode == 0, output(result)
    result = _pip_install(clients, fresh_venv, personal.index_url, "Pat_Tool")
    assert result.returncode == 0, output(result)
    assert _installed(clients, fresh_venv, "pat_tool") == "1.0"


def test_personal_token_uploads(personal: Server, clients: Clients, build_dists: DistBuilder) -> None:
    """A `pyregistry token create` token uploads as __token__; a token for another project gets 403."""
    dists = build_dists("Pat_Tool", "1.1")
    elsewhere = _token(clients, personal, "--user", PAT, "--project", "other-project")
    refused = _twine(clients, personal, [dists.wheel], "-u", "__token__", "-p", elsewhere)
    assert refused.returncode != 0, output(refused)
    assert "403" in refused.stdout + refused.stderr, output(refused)
    token = _token(clients, personal, "--user", PAT, "--project", "pat.tool")
    uploaded = _twine(clients, personal, [dists.wheel, dists.sdist], "-u", "__token__", "-p", token)
    assert uploaded.returncode == 0, output(uploaded)
    files = personal.project_json("pat-tool")["files"]
    assert isinstance(files, list)
    listed = {f["filename"] for f in files}
    assert {dists.wheel.name, dists.sdist.name} <= listed


# -- organisation's private registry --------------------------------------------------------

ALICE, ALICE_PASSWORD = "alice", "alice-secret"  # reads Secret.Tool
BOB, BOB_PASSWORD = "bob", "bob-secret"  # reads bob-only, not Secret.Tool
OPS, OPS_PASSWORD = "ops", "ops-secret"  # the admin who publishes


@pytest.fixture(scope="module")
def organisation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`pyregistry serve` as an organisation's registry: read needs a login, per-package entries."""
    yield from _serve(
        tmp_path_factory.mktemp("organisation"),
        [
            "storage.dir = packages",
            "pypi.fallback = none",
            "pypi.default_read = authenticated",
            "pypi.default_write = authenticated",
            f"user.{ALICE} = {fast_hash(ALICE_PASSWORD)}",
            f"user.{BOB} = {fast_hash(BOB_PASSWORD)}",
            f"user.{OPS} = {fast_hash(OPS_PASSWORD)}",
            f"auth.admins = {OPS}",
            # Entries written with non-normalized names govern secret-tool and bob-only.
            f"package.Secret_Tool.user.{ALICE} = r",
            f"package.BOB.only.user.{BOB} = r",
        ],
    )


@pytest.fixture(scope="module")
def org_published(organisation: Server, clients: Clients, build_dists: DistBuilder) -> Server:
    """The organisation's registry once the admin uploaded secret-tool and bob-only."""
    files = [build_dists(name, "1.0").wheel for name in ("Secret.Tool", "bob-only")]
    result = _twine(clients, organisation, files, "-u", OPS, "-p", OPS_PASSWORD)
    assert result.returncode == 0, output(result)
    return organisation


def test_org_anonymous_pip_is_refused(org_published: Server, clients: Clients, fresh_venv: Path) -> None:
    """Anonymous pip gets 401 and installs nothing."""
    offset = org_published.log_size()
    result = _pip_install(clients, fresh_venv, org_published.index_url, "secret-tool")
    assert result.returncode != 0, output(result)
    assert _statuses(org_published, offset, "/simple/secret-tool/") == {401}


def test_org_pip_credentials_in_the_index_url(
    org_published: Server, clients: Clients, fresh_venv: Path
) -> None:
    """pip with user:password in the index URL installs what the user may read."""
    result = _pip_install(
        clients, fresh_venv, _index_url(org_published, ALICE, ALICE_PASSWORD), "Secret.Tool"
    )
    assert result.returncode == 0, output(result)
    assert _installed(clients, fresh_venv, "secret_tool") == "1.0"


def test_org_pip_credentials_in_netrc(
    org_published: Server, clients: Clients, fresh_venv: Path, tmp_path: Path
) -> None:
    """pip with credentials in a netrc file (NETRC) installs what the user may read."""
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine {HOST}\nlogin {ALICE}\npassword {ALICE_PASSWORD}\n")
    netrc.chmod(0o600)
    result = _pip_install(clients, fresh_venv, org_published.index_url, "secret-tool", NETRC=str(netrc))
    assert result.returncode == 0, output(result)
    assert _installed(clients, fresh_venv, "secret_tool") == "1.0"


def test_org_uv_credentials_in_the_index_url(
    org_published: Server, clients: Clients, fresh_venv: Path
) -> None:
    """uv pip install with user:password in the index URL installs what the user may read."""
    result = clients.uv(
        "pip",
        "install",
        "--no-cache",
        "--python",
        str(fresh_venv),
        "--index-url",
        _index_url(org_published, ALICE, ALICE_PASSWORD),
        "secret-tool",
    )
    assert result.returncode == 0, output(result)
    assert _installed(clients, fresh_venv, "secret_tool") == "1.0"


def test_org_user_without_entry_is_refused(org_published: Server, clients: Clients, fresh_venv: Path) -> None:
    """bob reads bob-only but gets 403 for secret-tool, spelled as he likes, from pip and from uv."""
    index = _index_url(org_published, BOB, BOB_PASSWORD)
    offset = org_published.log_size()
    result = _pip_install(clients, fresh_venv, index, "Secret_Tool")
    assert result.returncode != 0, output(result)
    assert _statuses(org_published, offset, "/simple/secret-tool/") == {403}
    result = clients.uv(
        "pip", "install", "--no-cache", "--python", str(fresh_venv), "--index-url", index, "SECRET.tool"
    )
    assert result.returncode != 0, output(result)
    assert "403 Forbidden" in result.stdout + result.stderr, output(result)
    assert (
        org_published.request("GET", "/simple/bob-only/", {"Authorization": basic(BOB, BOB_PASSWORD)}).status
        == 200
    )


def test_org_alice_cannot_read_bob_only(org_published: Server, clients: Clients, fresh_venv: Path) -> None:
    """A user with r on one package gets 403 for another package's entries."""
    offset = org_published.log_size()
    result = _pip_install(clients, fresh_venv, _index_url(org_published, ALICE, ALICE_PASSWORD), "bob-only")
    assert result.returncode != 0, output(result)
    assert _statuses(org_published, offset, "/simple/bob-only/") == {403}


@pytest.mark.parametrize(
    "path",
    ["/simple/Secret_Tool/", "/simple/secret.tool/", "/pypi/SECRET-TOOL/json", "/api/package/Secret.Tool/"],
)
def test_org_spelling_variants_on_the_wire(org_published: Server, path: str) -> None:
    """Raw requests for other spellings end in 401 (anonymous) or 403 (bob), never content."""
    for headers, status in (
        ({}, 401),
        ({"Authorization": basic(BOB, BOB_PASSWORD)}, 403),
        ({"Authorization": basic(ALICE, ALICE_PASSWORD)}, 200),
    ):
        reply = org_published.request("GET", path, headers)
        if reply.status == 301:  # PEP 503: the normalized URL, on this server
            location = reply.header("Location") or ""
            assert location.startswith(
                ("/simple/secret-tool/", "/pypi/secret-tool/", "/api/package/secret-tool/")
            )
            reply = org_published.request("GET", location, headers)
        assert reply.status == status, (path, headers, reply.status, reply.body)
        if status == 401:
            assert reply.header("WWW-Authenticate") == 'Basic realm="pypi"'


# -- an unchanged pypicloud config ------------------------------------------------------------

DEV, DEV_PASSWORD = "dev", "dev-secret"
ADMIN, ADMIN_PASSWORD = "root", "root-secret"


@pytest.fixture(scope="module")
def pypicloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`pyregistry serve` on a pypicloud [app:main] file, with pypicloud-only lines left in."""
    # ppc-gen-password's output: passlib sha512_crypt at its default cost (about a second).
    admin_hash = sha512_crypt.hash(ADMIN_PASSWORD)
    assert admin_hash.startswith("$6$rounds=656000$")
    yield from _serve(
        tmp_path_factory.mktemp("pypicloud"),
        [
            "use = egg:pypicloud",
            "pyramid.reload_templates = False",
            "pypi.db = sql",
            "db.url = sqlite:///%(here)s/db.sqlite",
            "pypi.storage = file",
            "storage.dir = %(here)s/packages",
            # pypicloud's default fallback (redirect) needs an upstream URL: say none.
            "pypi.fallback = none",
            "pypi.realm = pypicloud",
            "session.validate_key = not-used",
            f"auth.admins = {ADMIN}",
            f"user.{ADMIN} = {admin_hash}",
            f"user.{DEV} = {fast_hash(DEV_PASSWORD)}",
            f"group.developers = {DEV}",
            "package.Legacy_Tool.group.developers = r",
            "",
            "[server:main]",
            "use = egg:waitress#main",
            "port = 6543",
        ],
        section="[app:main]",
    )


def test_pypicloud_config_works_unchanged(
    pypicloud: Server, clients: Clients, build_dists: DistBuilder, fresh_venv: Path
) -> None:
    """pypicloud's defaults apply (read needs a login, only admins write); its own lines are ignored."""
    anonymous = pypicloud.request("GET", "/simple/")
    assert (anonymous.status, anonymous.header("WWW-Authenticate")) == (401, 'Basic realm="pypicloud"')
    legacy = build_dists("Legacy_Tool", "1.0")
    refused = _twine(clients, pypicloud, [legacy.wheel], "-u", DEV, "-p", DEV_PASSWORD)
    assert refused.returncode != 0, output(refused)
    assert "403" in refused.stdout + refused.stderr, output(refused)
    uploaded = _twine(clients, pypicloud, [legacy.wheel], "-u", ADMIN, "-p", ADMIN_PASSWORD)
    assert uploaded.returncode == 0, output(uploaded)
    result = _pip_install(clients, fresh_venv, _index_url(pypicloud, DEV, DEV_PASSWORD), "legacy-tool")
    assert result.returncode == 0, output(result)
    assert _installed(clients, fresh_venv, "legacy_tool") == "1.0"
    log = pypicloud.log_text()
    for key in ("use", "pypi.db", "db.url"):
        assert f"ignoring pypicloud setting {key}" in log, log[-3000:]
