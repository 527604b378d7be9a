"""``pyregistry init`` to a working index: for each starter mode, the config ``init`` writes
(plus, where the mode needs them, a user from ``hash-password`` and an admin) is served
by ``pyregistry serve --config`` and real pip and twine do what the mode promises."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import (
    BIN,
    UPLOADER,
    UPLOADER_PASSWORD,
    Clients,
    Server,
    output,
    post_file,
    upload_fields,
)
from upstream_app import UpstreamIndex, wheel_file

pytestmark = pytest.mark.e2e


@pytest.fixture
def upstream() -> Iterator[UpstreamIndex]:
    """A local upstream index holding ufo-core 1.0 and 1.1."""
    with UpstreamIndex() as index:
        index.add("ufo-core", "1.0")
        index.add("ufo-core", "1.1")
        yield index


def init_config(root: Path, *args: str, extra: dict[str, str] | None = None) -> Path:
    """``pyregistry init ARGS -o root/pyregistry.ini``, plus ``extra`` lines appended to it."""
    root.mkdir(parents=True, exist_ok=True)
    config = root / "pyregistry.ini"
    result = subprocess.run(
        [str(BIN / "pyregistry"), "init", *args, "-o", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, output(result)
    if extra:
        with config.open("a") as handle:
            handle.writelines(f"{key} = {value}\n" for key, value in extra.items())
    return config


def serve(root: Path, config: Path) -> Server:
    """``pyregistry serve --config`` on loopback from ``root`` (waits for /health 200)."""
    server = Server("serve", config, root / "server.log", root)
    health = server.request("GET", "/health")
    assert health.status == 200, server.log_text()
    assert health.json()["storage"] == "ok"
    return server


def pip_target(
    clients: Clients, target: Path, index_url: str, *requirements: str
) -> subprocess.CompletedProcess[str]:
    """``pip install --target`` from ``index_url`` alone."""
    return clients.pip(
        "install",
        "--no-cache-dir",
        "--no-input",
        "--target",
        str(target),
        "--index-url",
        index_url,
        *requirements,
    )


def installed_version(target: Path, module: str) -> str:
    """The ``__version__`` written in an installed module's ``__init__.py``."""
    for line in (target / module / "__init__.py").read_text().splitlines():
        if line.startswith("__version__"):
            return line.split("=", 1)[1].strip().strip("'\"")
    raise AssertionError(f"no __version__ in {module}")


def write_wheel(directory: Path, name: str, version: str) -> Path:
    """A small installable wheel on disk."""
    hosted = wheel_file(name, version)
    path = directory / hosted.filename
    path.write_bytes(hosted.data)
    return path


def with_credentials(server: Server) -> str:
    """The server's index URL carrying the uploader's credentials."""
    return f"http://{UPLOADER}:{UPLOADER_PASSWORD}@{server.index_url.removeprefix('http://')}"


def test_proxy_mode_installs_from_the_upstream(
    tmp_path: Path, upstream: UpstreamIndex, clients: Clients
) -> None:
    """``init --mode proxy --upstream URL``: pip installs a package only the upstream holds, through us."""
    root = tmp_path / "proxy"
    server = serve(root, init_config(root, "--mode", "proxy", "--upstream", upstream.url))
    try:
        result = pip_target(clients, tmp_path / "site", server.index_url, "ufo-core")
        assert result.returncode == 0, output(result) + server.log_text()
        assert installed_version(tmp_path / "site", "ufo_core") == "1.1"
        assert upstream.downloads("ufo_core-1.1-py3-none-any.whl") == 1
        # Stored here now: listed with a link to us, not to the upstream.
        page = server.project_json("ufo-core")
        wheel = [f for f in page["files"] if f["filename"] == "ufo_core-1.1-py3-none-any.whl"]
        assert [f["url"].startswith(("/files/", "../../files/")) for f in wheel] == [True], page
    finally:
        server.stop()


def test_personal_mode_anyone_installs_only_users_upload(
    tmp_path: Path, upstream: UpstreamIndex, clients: Clients, uploader_hash: str
) -> None:
    """``init --mode personal``: twine uploads as a configured user, anonymous uploads are refused,
    and anonymous pip installs the upload and, through the redirect, an upstream-only package."""
    root = tmp_path / "personal"
    config = init_config(
        root,
        "--mode",
        "personal",
        "--upstream",
        upstream.url,
        extra={f"user.{UPLOADER}": uploader_hash, "auth.admins": UPLOADER},
    )
    server = serve(root, config)
    try:
        dist = write_wheel(tmp_path, "acme-personal", "1.0")
        anonymous = post_file(server, dist, upload_fields(dist, "acme-personal", "1.0"))
        assert (anonymous.status, anonymous.header("WWW-Authenticate")) == (401, 'Basic realm="pypi"')
        uploaded = clients.twine_upload(server, dist)
        assert uploaded.returncode == 0, output(uploaded) + server.log_text()

        result = pip_target(clients, tmp_path / "site", server.index_url, "acme-personal", "ufo-core==1.0")
        assert result.returncode == 0, output(result) + server.log_text()
        assert installed_version(tmp_path / "site", "acme_personal") == "1.0"
        assert installed_version(tmp_path / "site", "ufo_core") == "1.0"
        assert upstream.mentions("acme-personal") == []  # a private name never goes upstream
    finally:
        server.stop()


def test_private_mode_needs_credentials_to_install(
    tmp_path: Path, clients: Clients, uploader_hash: str
) -> None:
    """``init --mode private``: anonymous pip is refused with a 401; pip with the user's credentials works."""
    root = tmp_path / "private"
    config = init_config(
        root, "--mode", "private", extra={f"user.{UPLOADER}": uploader_hash, "auth.admins": UPLOADER}
    )
    server = serve(root, config)
    try:
        dist = write_wheel(tmp_path, "acme-private", "2.0")
        uploaded = clients.twine_upload(server, dist)
        assert uploaded.returncode == 0, output(uploaded) + server.log_text()

        offset = server.log_size()
        refused = pip_target(clients, tmp_path / "anonymous", server.index_url, "acme-private")
        assert refused.returncode != 0, output(refused)
        seen = server.wait_for_request(offset, "GET", "/simple/acme-private/")
        assert ("GET", "/simple/acme-private/", 401) in seen, seen
        assert not (tmp_path / "anonymous" / "acme_private").exists()

        result = pip_target(clients, tmp_path / "site", with_credentials(server), "acme-private")
        assert result.returncode == 0, output(result) + server.log_text()
        assert installed_version(tmp_path / "site", "acme_private") == "2.0"
    finally:
        server.stop()
