"""Real pip and uv through a real ``pyregistry serve`` with an upstream index: cache mode
(fetch, store, then serve with the upstream down), redirect mode, and private names that
never reach the upstream."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import Clients, Server, output, write_config
from upstream_app import HostedFile, UpstreamIndex, sdist_file, wheel_file

pytestmark = pytest.mark.e2e

TTL = 2  # seconds: pypi.upstream_ttl of the server that picks up a new upstream release


@pytest.fixture
def upstream() -> Iterator[UpstreamIndex]:
    """The upstream: ufo-core 1.0 and 1.1, ufo-plugin 0.5 (needs ufo-core), Acme_Utils 9.0."""
    with UpstreamIndex() as index:
        index.add("ufo-core", "1.0")
        index.add("ufo-core", "1.1")
        index.add("ufo-plugin", "0.5", dependencies=["ufo-core>=1.0"])
        index.add("Acme_Utils", "9.0")
        yield index


def start(tmp_path: Path, password_hash: str, upstream: UpstreamIndex, **settings: str) -> Server:
    """``pyregistry serve`` with local storage and ``upstream`` as its upstream."""
    root = tmp_path / f"server-{settings.get('pypi.fallback', 'cache')}"
    root.mkdir()
    config = write_config(
        root / "pyregistry.ini",
        root / "packages",
        password_hash,
        **{
            "pypi.fallback": "cache",
            "pypi.fallback_base_url": upstream.url,
            "pypi.cache_update": "everyone",
            **settings,
        },
    )
    return Server("serve", config, root / "server.log", root)


@pytest.fixture
def server(tmp_path: Path, uploader_hash: str, upstream: UpstreamIndex) -> Iterator[Server]:
    """A cache-mode server whose listings are always stale, so every page asks the upstream first."""
    running = start(tmp_path, uploader_hash, upstream, **{"pypi.upstream_ttl": "0"})
    try:
        yield running
    finally:
        running.stop()


def installed(clients: Clients, python: Path, module: str) -> str:
    """The ``__version__`` of ``module`` in an environment."""
    result = clients.run([str(python), "-c", f"import {module}; print({module}.__version__)"])
    assert result.returncode == 0, output(result)
    return result.stdout.strip()


def pip_install(clients: Clients, python: Path, server: Server, *requirements: str) -> None:
    """``pip install`` from the server alone (asserting success)."""
    result = clients.pip(
        "install", "--no-cache-dir", "--index-url", server.index_url, *requirements, python=python
    )
    assert result.returncode == 0, output(result)


def uv_install(clients: Clients, python: Path, server: Server, *requirements: str) -> None:
    """``uv pip install`` from the server alone (asserting success)."""
    result = clients.uv(
        "pip",
        "install",
        "--no-cache",
        "--python",
        str(python),
        "--index-url",
        server.index_url,
        *requirements,
    )
    assert result.returncode == 0, output(result)


def test_cache_mode_installs_and_keeps_serving_without_the_upstream(
    server: Server, upstream: UpstreamIndex, clients: Clients, tmp_path: Path
) -> None:
    """pip and uv install through the cache (one fetch per file); upstream down, new venvs still do."""
    wheels = ["ufo_core-1.1-py3-none-any.whl", "ufo_plugin-0.5-py3-none-any.whl"]
    first = clients.venv(tmp_path / "pip-online")
    pip_install(clients, first, server, "ufo-plugin")
    assert [upstream.downloads(w) for w in wheels] == [1, 1]
    second = clients.venv(tmp_path / "uv-online")
    uv_install(clients, second, server, "ufo-plugin")
    assert [upstream.downloads(w) for w in wheels] == [1, 1]  # served from our storage
    for python in (first, second):
        assert installed(clients, python, "ufo_core") == "1.1"
        assert installed(clients, python, "ufo_plugin") == "0.5"

    upstream.stop()
    third = clients.venv(tmp_path / "pip-offline")
    pip_install(clients, third, server, "ufo-plugin")
    fourth = clients.venv(tmp_path / "uv-offline")
    uv_install(clients, fourth, server, "ufo-plugin")
    for python in (third, fourth):
        assert installed(clients, python, "ufo_core") == "1.1"
        assert installed(clients, python, "ufo_plugin") == "0.5"
    # The first project asked finds the outage; it is remembered, so the rest are not asked.
    assert "upstream failed for ufo-plugin, serving the last listing" in server.log_text()


def test_redirect_mode_pip_follows_the_302(
    tmp_path: Path, uploader_hash: str, upstream: UpstreamIndex, clients: Clients
) -> None:
    """Redirect mode: pip installs a name we don't hold from the upstream the 302 points to."""
    redirecting = start(tmp_path, uploader_hash, upstream, **{"pypi.fallback": "redirect"})
    try:
        reply = redirecting.request("GET", "/simple/ufo-core/")
        assert (reply.status, reply.header("Location")) == (302, f"{upstream.url}/simple/ufo-core/")
        python = clients.venv(tmp_path / "venv")
        pip_install(clients, python, redirecting, "ufo-core")
        assert installed(clients, python, "ufo_core") == "1.1"
        assert upstream.downloads("ufo_core-1.1-py3-none-any.whl") == 1
        assert not (tmp_path / "server-redirect" / "packages" / "files" / "ufo-core").exists()
    finally:
        redirecting.stop()


def _write(directory: Path, *files: HostedFile) -> list[Path]:
    paths = []
    for hosted in files:
        path = directory / hosted.filename
        path.write_bytes(hosted.data)
        paths.append(path)
    return paths


def test_private_name_installs_the_private_version(
    server: Server, upstream: UpstreamIndex, clients: Clients, tmp_path: Path
) -> None:
    """An uploaded name installs our version in any spelling; the upstream's higher one is never asked for."""
    dists = tmp_path / "dists"
    dists.mkdir()
    paths = _write(dists, wheel_file("Acme_Utils", "1.0"), sdist_file("Acme_Utils", "1.0"))
    result = clients.twine_upload(server, *paths)
    assert result.returncode == 0, output(result)
    for spelling in ("Acme_Utils", "acme.utils"):
        reply = server.request("GET", f"/simple/{spelling}/")
        assert (reply.status, reply.header("Location")) == (301, "/simple/acme-utils/")
    with_pip = clients.venv(tmp_path / "pip")
    pip_install(clients, with_pip, server, "Acme_Utils")
    with_uv = clients.venv(tmp_path / "uv")
    uv_install(clients, with_uv, server, "acme.utils")
    assert installed(clients, with_pip, "acme_utils") == "1.0"
    assert installed(clients, with_uv, "acme_utils") == "1.0"
    assert upstream.mentions("acme-utils") == []


def test_new_upstream_release_appears_after_the_ttl(
    tmp_path: Path, uploader_hash: str, upstream: UpstreamIndex, clients: Clients
) -> None:
    """A release added upstream is not installed while the listing is within its TTL; past it
    the first request gets the last listing while it refreshes (stale-while-revalidate), and
    once the refresh lands the release is installed."""
    upstream.add("ufo-beacon", "1.0")
    caching = start(tmp_path, uploader_hash, upstream, **{"pypi.upstream_ttl": str(TTL)})
    try:
        venvs = [clients.venv(tmp_path / f"venv-{n}") for n in range(3)]  # made before the clock runs
        pip_install(clients, venvs[0], caching, "ufo-beacon")
        assert installed(clients, venvs[0], "ufo_beacon") == "1.0"
        assert upstream.page_requests("ufo-beacon") == 1

        # Within the TTL the new release stays unseen, whatever the upstream says.
        upstream.add("ufo-beacon", "2.0")
        pip_install(clients, venvs[1], caching, "ufo-beacon")
        within = upstream.page_requests("ufo-beacon")

        # Past the TTL: the last listing at once, and one refresh in the background.
        time.sleep(TTL + 0.1)
        assert caching.project_json("ufo-beacon")["versions"] in (["1.0"], ["1.0", "2.0"])
        for _ in range(200):  # bounded: the refresh lands within the client's timeout
            if caching.project_json("ufo-beacon")["versions"] == ["1.0", "2.0"]:
                break
            time.sleep(0.05)
        pip_install(clients, venvs[2], caching, "ufo-beacon")
        assert installed(clients, venvs[2], "ufo_beacon") == "2.0"
        assert upstream.downloads("ufo_beacon-2.0-py3-none-any.whl") == 1
        if within == 1:  # pip was quicker than the TTL: it saw our listing, not the upstream's
            assert installed(clients, venvs[1], "ufo_beacon") == "1.0"
    finally:
        caching.stop()


def test_yanked_upstream_file_stays_yanked(
    server: Server, upstream: UpstreamIndex, clients: Clients, tmp_path: Path
) -> None:
    """pip skips an upstream-yanked release, warns with the reason when pinned to it, and the
    proxy's JSON page keeps the reason once the file is cached."""
    reason = "broken build, use 1.0"
    upstream.add("ufo-relic", "1.0")
    upstream.add("ufo-relic", "1.1", yanked=reason)

    unpinned = clients.venv(tmp_path / "unpinned")
    pip_install(clients, unpinned, server, "ufo-relic")
    assert installed(clients, unpinned, "ufo_relic") == "1.0"
    assert upstream.downloads("ufo_relic-1.1-py3-none-any.whl") == 0

    pinned = clients.venv(tmp_path / "pinned")
    result = clients.pip(
        "install", "--no-cache-dir", "--index-url", server.index_url, "ufo-relic==1.1", python=pinned
    )
    assert result.returncode == 0, output(result)
    assert installed(clients, pinned, "ufo_relic") == "1.1"
    assert "The candidate selected for download or install is a yanked version: 'ufo-relic'" in result.stderr
    assert f"Reason for being yanked: {reason}" in result.stderr
    assert upstream.downloads("ufo_relic-1.1-py3-none-any.whl") == 1

    files = server.project_json("ufo-relic")["files"]
    assert {entry["filename"]: entry["yanked"] for entry in files} == {
        "ufo_relic-1.0-py3-none-any.whl": False,
        "ufo_relic-1.0.tar.gz": False,
        "ufo_relic-1.1-py3-none-any.whl": reason,
        "ufo_relic-1.1.tar.gz": reason,
    }


def test_resolving_through_the_proxy_downloads_no_wheel(
    server: Server, upstream: UpstreamIndex, clients: Clients, tmp_path: Path
) -> None:
    """uv pip compile resolves ufo-plugin (and its dependency) from PEP 658 metadata: the
    proxy fetches each wheel's .metadata from the upstream, never the wheel."""
    wheels = ["ufo_core-1.1-py3-none-any.whl", "ufo_plugin-0.5-py3-none-any.whl"]
    requirements = tmp_path / "requirements.in"
    requirements.write_text("ufo-plugin\n")
    compiled = clients.uv(
        "pip", "compile", "--no-cache", "--no-header", "--index-url", server.index_url, str(requirements)
    )
    assert compiled.returncode == 0, output(compiled)
    assert "ufo-core==1.1" in compiled.stdout
    assert "ufo-plugin==0.5" in compiled.stdout
    assert [upstream.downloads(w) for w in wheels] == [0, 0]
    assert {r.path.rsplit("/", 1)[-1] for r in upstream.requests if r.path.endswith(".metadata")} == {
        w + ".metadata" for w in wheels
    }
