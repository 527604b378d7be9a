"""``SCRIPT_NAME=/pypi pyregistry serve``: every ``--server`` serves the index below the prefix.

deployment.md promises a proxy that forwards ``/pypi/...`` unchanged works with any of them;
``--server uvicorn`` once ignored ``SCRIPT_NAME`` (pages at the root, links without it).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from distbuild import BuiltDists
from e2e_support import SERVE_FLAGS, SIMPLE_JSON, Clients, Server, output, write_config

pytestmark = pytest.mark.e2e

MOUNT = "/pypi"


@pytest.fixture(params=sorted(SERVE_FLAGS))
def mounted(request: pytest.FixtureRequest, tmp_path: Path, uploader_hash: str) -> Iterator[Server]:
    """``pyregistry serve`` (each ``--server``) with ``SCRIPT_NAME=/pypi``."""
    config = write_config(tmp_path / "pyregistry.ini", tmp_path / "packages", uploader_hash)
    running = Server(request.param, config, tmp_path / "server.log", tmp_path, mount=MOUNT)
    try:
        yield running
    finally:
        running.stop()


def test_serve_under_a_prefix_takes_uploads_and_installs(
    mounted: Server, clients: Clients, acme: dict[str, BuiltDists], tmp_path: Path
) -> None:
    """twine uploads to ``/pypi/``, the pages link below ``/pypi/``, and pip installs through them."""
    dists = acme["1.0"]
    upload = clients.twine_upload(mounted, dists.wheel)
    assert upload.returncode == 0, output(upload)
    page = mounted.request("GET", f"{MOUNT}/simple/acme-utils/", {"Accept": SIMPLE_JSON})
    assert page.status == 200, page.body
    (entry,) = page.json()["files"]
    link = urlsplit(urljoin(f"{mounted.url}/simple/acme-utils/", entry["url"])).path
    assert link.startswith(f"{MOUNT}/files/acme-utils/"), entry["url"]
    assert mounted.request("GET", link).body == dists.wheel.read_bytes()
    venv = clients.venv(tmp_path / "venv")
    result = clients.pip(
        "install", "--no-cache-dir", "--index-url", mounted.index_url, "acme-utils", python=venv
    )
    assert result.returncode == 0, output(result)
    assert "Successfully installed acme-utils-1.0" in result.stdout.replace("acme_utils", "acme-utils"), (
        output(result)
    )
