"""The operator command line: the real ``pyregistry`` console script run as a subprocess.

``init`` / ``check`` / ``hash-password`` / ``token`` need no server; ``yank``, ``unyank``,
``delete``, ``status`` and ``fsck`` act on a registry on a temporary directory that the
test fills in-process (uploads through ``pyregistry_core.handle``) and then reads back
through a fresh ``Registry`` on the same directory, as another process would.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from access_helpers import Dist, basic, fast_hash, wheel
from distfiles import sdist_bytes
from registry_http import SIMPLE_JSON, body_bytes, send, text, upload

from pyregistry_core import Registry
from pyregistry_core.auth.authenticator import PASSWORD_CONTEXT
from pyregistry_core.errors import AuthenticationRequired
from pyregistry_core.settings import Settings

PYREGISTRY = Path(sys.executable).parent / "pyregistry"
TIMEOUT = 60
UPSTREAM = "http://127.0.0.1:9"  # a root that nothing here ever contacts
BURNT = "This filename was previously used by a file that has since been deleted. Use a different version."
ADMIN, ADMIN_PASSWORD = "admin", "admin-pw"


def cli(*args: str, stdin: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``pyregistry ARGS`` (bounded) with no PYREGISTRY_/PPC_ overrides in its environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYREGISTRY_", "PPC_"))}
    return subprocess.run(
        [str(PYREGISTRY), *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        env=env,
        cwd=cwd,
    )


_AUDIT_LINE = re.compile(r"pyregistry\.audit time=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (.*)")
ME = getpass.getuser()


def audit_split(stderr: str) -> tuple[list[str], str]:
    """A command's audit lines (without their time) and the rest of its stderr."""
    lines, rest = [], []
    for line in stderr.splitlines(keepends=True):
        match = _AUDIT_LINE.fullmatch(line.rstrip("\n"))
        if match is None:
            rest.append(line)
        else:
            lines.append(match[1])
    return lines, "".join(rest)


def shown(result: subprocess.CompletedProcess[str]) -> str:
    """The command and its output, for assertion messages."""
    return (
        f"$ {' '.join(map(str, result.args))}\n[exit {result.returncode}]\n{result.stdout}\n{result.stderr}"
    )


def sdist(name: str, version: str) -> Dist:
    """A small PEP 625 sdist, as an upload carries it."""
    filename = f"{name.replace('-', '_')}-{version}.tar.gz"
    return Dist(name, version, filename, sdist_bytes(name, version), "sdist", "source")


# -- a registry on disk ---------------------------------------------------------------


class OnDisk:
    """A registry directory and its INI; only the CLI (an operator) and the admin may change it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.storage = root / "packages"
        self.config = root / "pyregistry.ini"
        # Nobody but the admin may upload, and nobody may delete: the CLI still may.
        self.config.write_text(
            "[pyregistry]\n"
            f"storage.dir = {self.storage}\n"
            "pypi.default_write =\n"
            "pypi.allow_delete_groups =\n"
            f"user.{ADMIN} = {fast_hash(ADMIN_PASSWORD)}\n"
            f"auth.admins = {ADMIN}\n"
        )
        self.admin = {"Authorization": basic(ADMIN, ADMIN_PASSWORD)}

    def registry(self) -> Registry:
        """A fresh registry on the directory (what another process would see)."""
        return Registry.from_config(self.config)

    def publish(self, *dists: Dist) -> None:
        """Upload ``dists`` as the admin (asserting 200)."""
        registry = self.registry()
        for dist in dists:
            reply = upload(registry, dist, self.admin)
            assert reply.status == 200, (reply.status, text(reply))

    def files(self, project: str) -> dict[str, Any]:
        """filename → the PEP 691 ``yanked`` value of every file listed for ``project``."""
        reply = send(self.registry(), "GET", f"/simple/{project}/", headers={"Accept": SIMPLE_JSON})
        assert reply.status == 200, (reply.status, text(reply))
        return {f["filename"]: f["yanked"] for f in json.loads(body_bytes(reply))["files"]}

    def html_yanked(self, project: str) -> dict[str, str | None]:
        """filename → the ``data-yanked`` attribute of its anchor on the HTML page (None: absent)."""
        reply = send(self.registry(), "GET", f"/simple/{project}/", headers={"Accept": "text/html"})
        assert reply.status == 200, (reply.status, text(reply))
        anchors = re.findall(r"<a ([^>]*)>([^<]+)</a>", text(reply))
        found: dict[str, str | None] = {}
        for attributes, filename in anchors:
            match = re.search(r'data-yanked="([^"]*)"', attributes)
            found[filename] = match.group(1) if match else None
        return found

    def index(self) -> list[str]:
        """The project names /simple/ lists (PEP 691)."""
        reply = send(self.registry(), "GET", "/simple/", headers={"Accept": SIMPLE_JSON})
        assert reply.status == 200, (reply.status, text(reply))
        return [p["name"] for p in json.loads(body_bytes(reply))["projects"]]

    def download(self, dist: Dist, registry: Registry | None = None) -> int:
        """The status of a GET of the file's URL."""
        project = dist.name.lower()
        return send(
            registry or self.registry(), "GET", f"/files/{project}/{dist.sha256}/{dist.filename}"
        ).status


@pytest.fixture
def on_disk(tmp_path: Path) -> OnDisk:
    """An empty registry directory with its config."""
    return OnDisk(tmp_path)


DEMO_10 = (wheel("demo", "1.0"), sdist("demo", "1.0"))
DEMO_20 = wheel("demo", "2.0")


@pytest.fixture
def demo(on_disk: OnDisk) -> OnDisk:
    """The registry holding demo 1.0 (wheel and sdist) and demo 2.0 (wheel)."""
    on_disk.publish(*DEMO_10, DEMO_20)
    return on_disk


# -- init and check -------------------------------------------------------------------


def test_init_proxy_needs_an_upstream(tmp_path: Path) -> None:
    """``init --mode proxy`` without ``--upstream`` exits 2 naming ``--upstream`` and writes nothing."""
    result = cli("init", "--mode", "proxy", "-o", str(tmp_path / "proxy.ini"))
    assert result.returncode == 2, shown(result)
    assert result.stderr == (
        "pyregistry: --upstream URL is required for --mode proxy (there is no built-in upstream)\n"
    )
    assert result.stdout == ""
    assert not (tmp_path / "proxy.ini").exists()


# case → (init arguments, (fallback, fallback_base_url, default_read, default_write))
INIT_CASES: dict[str, tuple[list[str], tuple[str, str | None, tuple[str, ...], tuple[str, ...]]]] = {
    "proxy": (["--mode", "proxy", "--upstream", UPSTREAM], ("cache", UPSTREAM, ("everyone",), ())),
    "personal": (["--mode", "personal"], ("none", None, ("everyone",), ("authenticated",))),
    "personal-upstream": (
        ["--mode", "personal", "--upstream", UPSTREAM],
        ("redirect", UPSTREAM, ("everyone",), ("authenticated",)),
    ),
    "private": (["--mode", "private"], ("none", None, ("authenticated",), ("authenticated",))),
    "private-upstream": (
        ["--mode", "private", "--upstream", UPSTREAM],
        ("redirect", UPSTREAM, ("authenticated",), ("authenticated",)),
    ),
}


@pytest.mark.parametrize("case", sorted(INIT_CASES))
def test_init_writes_a_config_that_checks_ok(tmp_path: Path, case: str) -> None:
    """Every starter config ``init -o`` writes passes ``check`` and means its deployment."""
    args, (fallback, base_url, default_read, default_write) = INIT_CASES[case]
    path = tmp_path / "pyregistry.ini"
    written = cli("init", *args, "-o", str(path))
    assert (written.returncode, written.stdout, written.stderr) == (0, f"wrote {path}\n", ""), shown(written)
    checked = cli("check", "--config", str(path))
    assert (checked.returncode, checked.stdout) == (0, f"{path}: OK\n"), shown(checked)
    settings = Settings.from_ini(path)
    assert (settings.fallback, settings.fallback_base_url) == (fallback, base_url)
    assert (settings.default_read, settings.default_write) == (default_read, default_write)
    # %(here)s: the packages live next to the config, wherever it is run from.
    assert settings.storage_url.rstrip("/").endswith(str(tmp_path.resolve() / "packages"))


def test_init_without_a_mode_says_which_it_chose(tmp_path: Path) -> None:
    """``init`` with no ``--mode`` writes the personal starter and says so on stderr, naming the others."""
    path = tmp_path / "pyregistry.ini"
    result = cli("init", "-o", str(path))
    assert (result.returncode, result.stdout) == (0, f"wrote {path}\n"), shown(result)
    assert result.stderr == (
        "pyregistry: no --mode given: this is the 'personal' starter (anyone installs, logged-in users "
        "upload); --mode proxy (a caching proxy of an upstream index) or --mode private (nothing readable "
        "without credentials) writes another\n"
    )
    assert path.read_text() == cli("init", "--mode", "personal").stdout
    help_text = cli("init", "--help").stdout
    assert "default: personal" in " ".join(help_text.split())


def test_init_prints_to_stdout_without_output(tmp_path: Path) -> None:
    """Without ``-o`` the starter config goes to stdout (what ``-o`` would write) and no file is made."""
    result = cli("init", "--mode", "proxy", "--upstream", UPSTREAM, cwd=tmp_path)
    assert result.returncode == 0, shown(result)
    assert "[pyregistry]\n" in result.stdout
    assert "\npypi.fallback = cache\n" in result.stdout
    assert f"\npypi.fallback_base_url = {UPSTREAM}\n" in result.stdout
    assert list(tmp_path.iterdir()) == []


def test_init_never_overwrites(tmp_path: Path) -> None:
    """``init -o FILE`` refuses (exit 1) when FILE exists, leaving it untouched."""
    path = tmp_path / "pyregistry.ini"
    path.write_text("[pyregistry]\n# mine\n")
    result = cli("init", "--mode", "private", "-o", str(path))
    assert result.returncode == 1, shown(result)
    assert result.stderr == f"pyregistry: {path} exists; not overwriting it\n"
    assert path.read_text() == "[pyregistry]\n# mine\n"


def test_check_names_a_misspelled_key(tmp_path: Path) -> None:
    """``check`` exits 2 naming an unknown key and the key it probably meant."""
    path = tmp_path / "pyregistry.ini"
    path.write_text(f"[pyregistry]\nstorage.dir = {tmp_path / 'packages'}\npypi.fallbak = none\n")
    result = cli("check", "--config", str(path))
    assert result.returncode == 2, shown(result)
    assert result.stderr == (
        "pyregistry: configuration error: unknown key pypi.fallbak (did you mean pypi.fallback?)\n"
    )
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("pypi.fallback = redirect", "pypi.fallback = redirect needs pypi.fallback_base_url"),
        ("pypi.fallback = cache", "pypi.fallback = cache needs pypi.fallback_base_url"),
        ("pypi.auth = ldap", "pypi.auth = ldap is not supported"),
        (
            "pypi.default_raed = authenticated",
            "unknown key pypi.default_raed (did you mean pypi.default_read?)",
        ),
        (
            "pypi.default_write = develpers",
            "pypi.default_write names group 'develpers', which no group.<name>",
        ),
        ("package.demo.user.alice = read", "package.demo.user.alice = 'read': permissions are r, w or rw"),
        ("user.alice = hunter2", "user.alice is not a password hash pyregistry recognises"),
        (
            "publisher.demo.1 = github repo=acme/tool",
            "publisher.demo.1: a github publisher needs workflow",
        ),
        ("publisher.demo.1 = travis repo=acme/tool", "publisher.demo.1: the first word must name an issuer"),
        (
            "oidc.corp.issuer = http://ci.corp.test",
            "oidc.corp.issuer = http://ci.corp.test: an OIDC issuer is named by an https:// URL",
        ),
    ],
)
def test_check_refuses_configs_that_cannot_start(tmp_path: Path, line: str, message: str) -> None:
    """A config that cannot start (an upstream mode without a base URL, another auth backend, a bad
    publisher or issuer line, ...) exits 2 naming the key."""
    path = tmp_path / "pyregistry.ini"
    path.write_text(f"[pyregistry]\nstorage.dir = {tmp_path / 'packages'}\n{line}\n")
    result = cli("check", "--config", str(path))
    assert result.returncode == 2, shown(result)
    assert result.stderr.startswith(f"pyregistry: configuration error: {message}"), shown(result)
    assert result.stdout == ""


# -- hash-password --------------------------------------------------------------------


def test_hash_password_from_stdin_logs_the_user_in(tmp_path: Path) -> None:
    """``hash-password`` prints one hash of the stdin password; it verifies and works as ``user.<name>``."""
    result = cli("hash-password", stdin="correct horse\n")
    assert result.returncode == 0, shown(result)
    assert result.stdout.count("\n") == 1
    hashed = result.stdout.strip()
    assert "correct horse" not in hashed
    assert PASSWORD_CONTEXT.verify("correct horse", hashed)
    assert not PASSWORD_CONTEXT.verify("correct horse\n", hashed)
    assert not PASSWORD_CONTEXT.verify("wrong", hashed)
    registry = Registry.from_config({"storage.url": "memory://hash-password", "user.alice": hashed})
    assert registry.authenticate(basic("alice", "correct horse")).user == "alice"
    with pytest.raises(AuthenticationRequired):
        registry.authenticate(basic("alice", "wrong"))


def test_hash_password_refuses_an_empty_password() -> None:
    """An empty password on stdin prints no hash and exits 1."""
    result = cli("hash-password", stdin="\n")
    assert (result.returncode, result.stdout, result.stderr) == (1, "", "pyregistry: empty password\n")


# -- tokens ---------------------------------------------------------------------------


def test_token_create_list_revoke(on_disk: OnDisk) -> None:
    """``token create`` prints only the token (a ``__token__`` login); ``list`` shows, ``revoke`` ends it."""
    config = str(on_disk.config)
    created = cli(
        "token", "create", "--config", config, "--user", ADMIN, "--project", "Demo_Pkg", "--scope", "read"
    )
    assert created.returncode == 0, shown(created)
    match = re.fullmatch(r"(pyreg-([0-9a-f]+)-\S+)\n", created.stdout)
    assert match is not None, shown(created)
    secret, token_id = match.groups()
    other = cli("token", "create", "--config", config, "--user", ADMIN)
    assert other.returncode == 0, shown(other)
    other_id = other.stdout.split("-")[1]

    identity = on_disk.registry().authenticate(basic("__token__", secret))
    assert (identity.user, identity.token_scope, identity.token_projects) == (
        ADMIN,
        "read",
        frozenset({"demo-pkg"}),
    )

    listed = cli("token", "list", "--config", config)
    assert listed.returncode == 0, shown(listed)
    assert listed.stdout.splitlines() == [
        f"{token_id} user={ADMIN} scope=read projects=demo-pkg",
        f"{other_id} user={ADMIN} scope=upload projects=*",
    ]
    assert secret.rsplit("-", 1)[-1] not in listed.stdout

    revoked = cli("token", "revoke", "--config", config, token_id)
    assert revoked.returncode == 0, shown(revoked)
    assert audit_split(revoked.stderr) == (
        [f"actor={ME} action=token.revoke project=- target={token_id} outcome=ok client=cli"],
        "",
    )
    assert audit_split(created.stderr) == (
        [
            f"actor={ME} action=token.create project=demo-pkg target={token_id} outcome=ok client=cli "
            f'detail="user: {ADMIN}; scope: read"'
        ],
        "",
    )
    assert secret not in created.stderr
    listed = cli("token", "list", "--config", config)
    assert listed.stdout.splitlines() == [
        f"{token_id} user={ADMIN} scope=read projects=demo-pkg revoked",
        f"{other_id} user={ADMIN} scope=upload projects=*",
    ]
    with pytest.raises(AuthenticationRequired):
        on_disk.registry().authenticate(basic("__token__", secret))


def test_token_create_for_an_unknown_user_fails(on_disk: OnDisk) -> None:
    """``token create --user <unknown>`` exits 2 naming the user, prints no token and stores none."""
    config = str(on_disk.config)
    result = cli("token", "create", "--config", config, "--user", "nobody")
    assert (result.returncode, result.stdout) == (2, ""), shown(result)
    assert audit_split(result.stderr) == (
        [
            f"actor={ME} action=token.create project=- target=nobody outcome=refused client=cli "
            'reason="no user \'nobody\'" detail="user: nobody; scope: upload"'
        ],
        f"pyregistry: no user 'nobody' in {config}: a token acts as a user, so add user.nobody "
        "(or an auth.htpasswd entry) first\n",
    )
    assert cli("token", "list", "--config", config).stdout == ""


def test_token_create_warns_when_the_scope_exceeds_the_user(on_disk: OnDisk) -> None:
    """An upload token for a user who may not upload is still printed, with a warning on stderr."""
    config = on_disk.config
    config.write_text(
        config.read_text()
        + f"user.reader = {fast_hash('pw')}\n"
        + "package.secret-tool.user.reader = r\npackage.other.user.reader = w\n"
    )
    upload = cli("token", "create", "--config", str(config), "--user", "reader", "--project", "secret-tool")
    assert upload.returncode == 0, shown(upload)
    assert re.fullmatch(r"pyreg-[0-9a-f]+-\S+\n", upload.stdout), shown(upload)
    assert audit_split(upload.stderr)[1] == (
        "pyregistry: warning: user 'reader' may not upload to 'secret-tool'; this token cannot either\n"
    )
    anywhere = cli("token", "create", "--config", str(config), "--user", "reader", "--project", "other")
    assert (
        audit_split(anywhere.stderr)[1]
        == "pyregistry: warning: user 'reader' may not read 'other'; this token cannot either\n"
    )
    read = cli("token", "create", "--config", str(config), "--user", "reader", "--scope", "read")
    assert (read.returncode, audit_split(read.stderr)[1]) == (0, ""), shown(read)
    admin = cli("token", "create", "--config", str(config), "--user", ADMIN)
    assert (admin.returncode, audit_split(admin.stderr)[1]) == (0, ""), shown(admin)


def test_token_revoke_unknown_id(on_disk: OnDisk) -> None:
    """Revoking a token id that does not exist exits 1 and says so."""
    result = cli("token", "revoke", "--config", str(on_disk.config), "0123456789abcdef")
    assert (result.returncode, result.stdout) == (1, ""), shown(result)
    assert audit_split(result.stderr) == (
        [
            f"actor={ME} action=token.revoke project=- target=0123456789abcdef outcome=refused client=cli "
            "reason=\"no token '0123456789abcdef'\""
        ],
        "pyregistry: no token '0123456789abcdef'\n",
    )


# -- yank, unyank, delete ---------------------------------------------------------------


def test_yank_and_unyank_a_release(demo: OnDisk) -> None:
    """``yank --reason`` yanks each file of a release (HTML, JSON show the reason); ``unyank`` clears it."""
    wheel_10, sdist_10 = DEMO_10
    result = cli("yank", "--config", str(demo.config), "Demo", "1.0", "--reason", "broken build")
    assert result.returncode == 0, shown(result)
    assert sorted(result.stdout.splitlines()) == sorted(f"yank: {d.filename}" for d in DEMO_10)
    assert demo.files("demo") == {
        sdist_10.filename: "broken build",
        wheel_10.filename: "broken build",
        DEMO_20.filename: False,
    }
    assert demo.html_yanked("demo") == {
        sdist_10.filename: "broken build",
        wheel_10.filename: "broken build",
        DEMO_20.filename: None,
    }
    assert demo.download(wheel_10) == 200  # PEP 592: yanked files stay downloadable

    result = cli("unyank", "--config", str(demo.config), "demo", "1.0.0")
    assert result.returncode == 0, shown(result)
    assert sorted(result.stdout.splitlines()) == sorted(f"unyank: {d.filename}" for d in DEMO_10)
    assert set(demo.files("demo").values()) == {False}
    assert set(demo.html_yanked("demo").values()) == {None}


def test_yank_one_file_without_a_reason(demo: OnDisk) -> None:
    """Yanking a filename yanks that file only; with no reason JSON says ``true``, HTML ``data-yanked=""``."""
    wheel_10, sdist_10 = DEMO_10
    result = cli("yank", "--config", str(demo.config), "demo", wheel_10.filename)
    assert (result.returncode, result.stdout) == (0, f"yank: {wheel_10.filename}\n"), shown(result)
    assert demo.files("demo") == {sdist_10.filename: False, wheel_10.filename: True, DEMO_20.filename: False}
    assert demo.html_yanked("demo")[wheel_10.filename] == ""


def test_delete_a_release_burns_its_filenames(demo: OnDisk) -> None:
    """``delete PROJECT VERSION`` removes every file of the release; re-uploading one is refused for good."""
    wheel_10, sdist_10 = DEMO_10
    result = cli("delete", "--config", str(demo.config), "DEMO", "1.0")
    assert result.returncode == 0, shown(result)
    assert sorted(result.stdout.splitlines()) == sorted(f"delete: {d.filename}" for d in DEMO_10)
    assert demo.files("demo") == {DEMO_20.filename: False}
    assert demo.download(wheel_10) == 404
    registry = demo.registry()
    for dist in DEMO_10:
        reply = upload(registry, dist, demo.admin)
        assert (reply.status, text(reply)) == (400, BURNT + "\n")
    assert not list((demo.storage / "files" / "demo").glob(f"*/{sdist_10.filename}*"))


def test_delete_one_file_burns_its_filename(demo: OnDisk) -> None:
    """``delete PROJECT FILENAME`` removes that file only; its name stays burnt, the rest stay served."""
    wheel_10, sdist_10 = DEMO_10
    result = cli("delete", "--config", str(demo.config), "demo", wheel_10.filename)
    assert (result.returncode, result.stdout) == (0, f"delete: {wheel_10.filename}\n"), shown(result)
    assert demo.files("demo") == {sdist_10.filename: False, DEMO_20.filename: False}
    assert (demo.download(wheel_10), demo.download(sdist_10)) == (404, 200)
    reply = upload(demo.registry(), wheel_10, demo.admin)
    assert (reply.status, text(reply)) == (400, BURNT + "\n")


@pytest.mark.parametrize("command", ["delete", "yank", "unyank"])
def test_unknown_target_exits_1(demo: OnDisk, command: str) -> None:
    """A version or filename the project does not hold exits 1 naming it, and changes nothing."""
    before = demo.files("demo")
    result = cli(command, "--config", str(demo.config), "demo", "9.9")
    assert (result.returncode, result.stdout) == (1, ""), shown(result)
    assert audit_split(result.stderr) == (
        [
            f"actor={ME} action={command} project=demo target=9.9 outcome=refused client=cli "
            "reason=\"File '9.9' not found in project 'demo'.\""
        ],
        "pyregistry: File '9.9' not found in project 'demo'.\n",
    )
    assert demo.files("demo") == before


def test_changes_reach_a_running_registry_at_once(demo: OnDisk) -> None:
    """A registry that served the project before a CLI yank/delete/quarantine shows each change at once."""
    wheel_10, _ = DEMO_10
    running = demo.registry()
    assert send(running, "GET", "/simple/demo/", headers={"Accept": SIMPLE_JSON}).status == 200
    assert demo.download(wheel_10, running) == 200

    def page() -> dict[str, Any]:
        reply = send(running, "GET", "/simple/demo/", headers={"Accept": SIMPLE_JSON})
        return {f["filename"]: f["yanked"] for f in json.loads(body_bytes(reply))["files"]}

    def index() -> list[str]:
        reply = send(running, "GET", "/simple/", headers={"Accept": SIMPLE_JSON})
        return [p["name"] for p in json.loads(body_bytes(reply))["projects"]]

    assert cli("yank", "--config", str(demo.config), "demo", "2.0", "--reason", "r").returncode == 0
    assert page()[DEMO_20.filename] == "r"
    assert cli("delete", "--config", str(demo.config), "demo", wheel_10.filename).returncode == 0
    assert wheel_10.filename not in page()
    assert demo.download(wheel_10, running) == 404
    assert index() == ["demo"]
    assert cli("status", "--config", str(demo.config), "demo", "quarantined").returncode == 0
    assert (index(), page()) == ([], {})


# -- status (PEP 792) -------------------------------------------------------------------


def test_status_archived_refuses_uploads_but_serves_files(demo: OnDisk) -> None:
    """``status PROJECT archived``: uploads get 400 citing PEP 792; existing files stay listed and served."""
    result = cli("status", "--config", str(demo.config), "Demo", "archived", "--reason", "done")
    assert (result.returncode, result.stdout) == (0, "demo: archived\n"), shown(result)
    reply = upload(demo.registry(), wheel("demo", "3.0"), demo.admin)
    assert (reply.status, text(reply)) == (
        400,
        "Project 'demo' is archived; it accepts no uploads (PEP 792).\n",
    )
    assert set(demo.files("demo")) == {d.filename for d in (*DEMO_10, DEMO_20)}
    assert demo.download(DEMO_20) == 200
    page = send(demo.registry(), "GET", "/simple/demo/", headers={"Accept": SIMPLE_JSON})
    assert json.loads(body_bytes(page))["project-status"] == {"status": "archived", "reason": "done"}


def test_status_quarantined_hides_the_project_and_active_restores_it(demo: OnDisk) -> None:
    """``quarantined`` leaves /simple/, lists no files, takes no uploads; ``active`` undoes it."""
    assert demo.index() == ["demo"]
    result = cli("status", "--config", str(demo.config), "demo", "quarantined")
    assert (result.returncode, result.stdout) == (0, "demo: quarantined\n"), shown(result)
    assert demo.index() == []
    assert demo.files("demo") == {}
    html = send(demo.registry(), "GET", "/simple/demo/")
    assert '<meta name="pypi:project-status" content="quarantined">' in text(html)
    reply = upload(demo.registry(), wheel("demo", "3.0"), demo.admin)
    assert (reply.status, text(reply)) == (
        400,
        "Project 'demo' is quarantined; it accepts no uploads (PEP 792).\n",
    )

    result = cli("status", "--config", str(demo.config), "demo", "active")
    assert (result.returncode, result.stdout) == (0, "demo: active\n"), shown(result)
    assert demo.index() == ["demo"]
    assert set(demo.files("demo")) == {d.filename for d in (*DEMO_10, DEMO_20)}
    demo.publish(wheel("demo", "3.0"))
    assert wheel("demo", "3.0").filename in demo.files("demo")


def test_status_of_an_unknown_project(on_disk: OnDisk) -> None:
    """Setting the status of a project that was never stored exits 1 naming it."""
    result = cli("status", "--config", str(on_disk.config), "nope", "archived")
    assert (result.returncode, result.stdout) == (1, ""), shown(result)
    assert audit_split(result.stderr) == (
        [
            f"actor={ME} action=status project=nope target=- outcome=refused client=cli "
            'reason="Project \'nope\' not found." detail="status: archived"'
        ],
        "pyregistry: Project 'nope' not found.\n",
    )


# -- fsck -------------------------------------------------------------------------------


@pytest.fixture
def planted(demo: OnDisk) -> tuple[Path, Path]:
    """An orphan blob two hours old and one a minute old, in the layout live files use."""
    old = demo.storage / "files" / "demo" / ("a" * 64) / "demo-0.1-py3-none-any.whl"
    young = demo.storage / "files" / "demo" / ("b" * 64) / "demo-0.2-py3-none-any.whl"
    for path, age in ((old, 7200), (young, 60)):
        path.parent.mkdir(parents=True)
        path.write_bytes(b"left behind by an upload that died")
        stamp = time.time() - age
        os.utime(path, (stamp, stamp))
    return old, young


def test_fsck_without_orphans(demo: OnDisk) -> None:
    """A registry holding only published files has no orphans."""
    result = cli("fsck", "--config", str(demo.config))
    assert (result.returncode, result.stdout) == (0, "no orphans\n"), shown(result)


def test_fsck_reports_and_cleans_old_orphans_only(demo: OnDisk, planted: tuple[Path, Path]) -> None:
    """An orphan older than an hour is reported and removed by ``--clean``; young orphans, live files stay."""
    old, young = planted
    key = old.relative_to(demo.storage).as_posix()
    report = cli("fsck", "--config", str(demo.config))
    assert (report.returncode, report.stdout) == (0, f"orphan: {key} (no live record publishes it)\n"), shown(
        report
    )
    assert old.exists()
    cleaned = cli("fsck", "--config", str(demo.config), "--clean")
    assert cleaned.returncode == 0, shown(cleaned)
    assert cleaned.stdout == f"orphan: {key} (no live record publishes it)\nremoved 1 orphans\n"
    assert (old.exists(), young.exists()) == (False, True)
    assert [demo.download(d) for d in (*DEMO_10, DEMO_20)] == [200, 200, 200]
    again = cli("fsck", "--config", str(demo.config))
    assert again.stdout == "no orphans\n", shown(again)


def test_fsck_reports_the_bytes_of_a_deleted_file_left_behind(demo: OnDisk) -> None:
    """Bytes still stored for a deleted file (a delete that died halfway) are an orphan once old."""
    wheel_10, _ = DEMO_10
    kept = demo.storage / "files" / "demo" / wheel_10.sha256 / wheel_10.filename
    saved = kept.read_bytes()
    assert cli("delete", "--config", str(demo.config), "demo", wheel_10.filename).returncode == 0
    kept.write_bytes(saved)
    stamp = time.time() - 7200
    os.utime(kept, (stamp, stamp))
    result = cli("fsck", "--config", str(demo.config))
    key = kept.relative_to(demo.storage).as_posix()
    assert result.stdout == f"orphan: {key} (no live record publishes it)\n", shown(result)


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--port", "99999", "argument --port: 99999 is not between 1 and 65535"),
        ("--port", "-1", "argument --port: -1 is not between 1 and 65535"),
        ("--port", "http", "argument --port: 'http' is not a whole number"),
        ("--workers", "0", "argument --workers: 0 is not between 1 and 1024"),
    ],
)
def test_serve_refuses_bad_flags_naming_them(flag: str, value: str, message: str) -> None:
    """A bad --port or --workers exits 2 with a line naming the flag, before anything starts."""
    result = cli("serve", flag, value)
    assert result.returncode == 2, shown(result)
    assert result.stderr.splitlines()[-1] == f"pyregistry serve: error: {message}"
    assert "Traceback" not in result.stderr


def test_version() -> None:
    """``--version`` prints the installed version."""
    result = cli("--version")
    assert (result.returncode, result.stdout) == (0, "pyregistry 0.1.0\n"), shown(result)


def test_cli_changes_are_on_the_audit_trail(demo: OnDisk) -> None:
    """A yank and a status change made at the command line are audit lines naming the OS user and ``cli``."""
    yanked = cli("yank", "--config", str(demo.config), "demo", "1.0", "--reason", "bad build")
    assert yanked.returncode == 0, shown(yanked)
    files = ", ".join(line.split(": ", 1)[1] for line in yanked.stdout.splitlines())
    assert audit_split(yanked.stderr) == (
        [
            f"actor={ME} action=yank project=demo target=1.0 outcome=ok client=cli "
            f'detail="files: {files}; reason: bad build"'
        ],
        "",
    )
    status = cli("status", "--config", str(demo.config), "demo", "archived")
    assert audit_split(status.stderr) == (
        [f'actor={ME} action=status project=demo target=- outcome=ok client=cli detail="status: archived"'],
        "",
    )
