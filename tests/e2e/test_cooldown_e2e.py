"""Real pip and uv through a real ``pyregistry serve`` proxy that enforces a release
cooldown: they install (and ``uv pip compile`` pins) the release that is old enough, and
never see a newer file URL; an exempt name gets its newest release."""

from __future__ import annotations

import base64
import json
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from e2e_support import BIN, UPLOADER, UPLOADER_PASSWORD, Clients, Server, output
from test_fallback_e2e import installed, pip_install, start, uv_install
from upstream_app import UpstreamIndex

pytestmark = pytest.mark.e2e

DAY = 86400


def _ago(seconds: float) -> str:
    """A PEP 700 upload-time ``seconds`` ago (real time: the server's clock is real)."""
    return datetime.fromtimestamp(time.time() - seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@pytest.fixture
def upstream() -> Iterator[UpstreamIndex]:
    """ufo-core and ufo-urgent: 1.0 uploaded 30 days ago, 1.1 two days ago, 1.2 an hour ago."""
    with UpstreamIndex() as index:
        for name in ("ufo-core", "ufo-urgent"):
            for version, age in (("1.0", 30 * DAY), ("1.1", 2 * DAY), ("1.2", 3600)):
                index.add(name, version, kinds=("wheel",), upload_time=_ago(age))
        yield index


@pytest.fixture
def proxy(tmp_path: Path, uploader_hash: str, upstream: UpstreamIndex) -> Iterator[Server]:
    """A cache-mode proxy with a seven-day cooldown; ufo-urgent is exempt; the uploader is an admin."""
    server = start(
        tmp_path,
        uploader_hash,
        upstream,
        **{
            "pypi.upstream_min_age": "7d",
            "pypi.upstream_min_age_exempt": "ufo-urgent",
            "auth.admins": UPLOADER,
        },
    )
    try:
        yield server
    finally:
        server.stop()


def test_pip_and_uv_install_only_releases_past_the_cooldown(
    proxy: Server, upstream: UpstreamIndex, clients: Clients, tmp_path: Path
) -> None:
    """pip and uv get ufo-core 1.0 and ufo-urgent 1.2; no young ufo-core file is ever offered or fetched."""
    for tool, install in (("pip", pip_install), ("uv", uv_install)):
        python = clients.venv(tmp_path / tool)
        install(clients, python, proxy, "ufo-core", "ufo-urgent")
        assert installed(clients, python, "ufo_core") == "1.0"
        assert installed(clients, python, "ufo_urgent") == "1.2"
    for version in ("1.1", "1.2"):
        young = f"ufo_core-{version}-py3-none-any.whl"
        assert upstream.downloads(young) == 0
        for accept in ("text/html", "application/vnd.pypi.simple.v1+json"):
            page = proxy.request("GET", "/simple/ufo-core/", headers={"Accept": accept})
            assert young not in page.body.decode()


def test_uv_pip_compile_pins_the_release_past_the_cooldown(
    proxy: Server, clients: Clients, tmp_path: Path
) -> None:
    """A lock resolved through the proxy pins ufo-core==1.0."""
    requirements = tmp_path / "requirements.in"
    requirements.write_text("ufo-core\n")
    result = clients.uv(
        "pip", "compile", "--no-cache", "--no-header", "--index-url", proxy.index_url, str(requirements)
    )
    assert result.returncode == 0, output(result)
    assert "ufo-core==1.0" in result.stdout.splitlines()


def _as_admin(proxy: Server, target: str, action: str) -> int:
    """``POST /api/package/ufo-core/<target>/<action>`` with the admin's credentials."""
    credentials = base64.b64encode(f"{UPLOADER}:{UPLOADER_PASSWORD}".encode()).decode()
    reply = proxy.request(
        "POST",
        f"/api/package/ufo-core/{target}/{action}",
        {"Authorization": f"Basic {credentials}", "Content-Type": "application/json"},
        json.dumps({"reason": "urgent fix"}).encode(),
    )
    return reply.status


def _exempt_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``pyregistry exempt ARGS`` on the running proxy's config (its storage; see ``start``)."""
    config = tmp_path / "server-cache" / "pyregistry.ini"
    return subprocess.run(
        [str(BIN / "pyregistry"), "exempt", *args[:1], "--config", str(config), *args[1:]],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_an_exempted_release_installs_and_a_revoked_one_is_held_back_again(
    proxy: Server, upstream: UpstreamIndex, clients: Clients, tmp_path: Path
) -> None:
    """An admin's API exemption makes pip install 1.2; a CLI exemption of 1.1, once revoked
    through the API, holds 1.1 back again (never fetched), while the cached 1.2 stays."""
    python = clients.venv(tmp_path / "pip")
    assert _as_admin(proxy, "1.2", "exempt") == 200
    pip_install(clients, python, proxy, "ufo-core")
    assert installed(clients, python, "ufo_core") == "1.2"

    result = _exempt_cli(tmp_path, "add", "ufo-core", "ufo_core-1.1-py3-none-any.whl")
    assert result.returncode == 0, output(result)
    page = proxy.request("GET", "/simple/ufo-core/").body.decode()
    assert "ufo_core-1.1-py3-none-any.whl" in page
    assert _as_admin(proxy, "ufo_core-1.1-py3-none-any.whl", "unexempt") == 200
    page = proxy.request("GET", "/simple/ufo-core/").body.decode()
    assert "ufo_core-1.1-py3-none-any.whl" not in page
    refused = clients.pip(
        "install", "--no-cache-dir", "--index-url", proxy.index_url, "ufo-core==1.1", python=python
    )
    assert refused.returncode != 0
    assert "No matching distribution found for ufo-core==1.1" in refused.stderr
    assert upstream.downloads("ufo_core-1.1-py3-none-any.whl") == 0

    assert _as_admin(proxy, "1.2", "unexempt") == 200  # cached while exempt: stays served
    pip_install(clients, python, proxy, "--force-reinstall", "ufo-core==1.2")
    assert upstream.downloads("ufo_core-1.2-py3-none-any.whl") == 1
