"""``pyregistry serve`` under each ``--server``: uploads and installs at the root and below a prefix.

deployment.md promises that ``SCRIPT_NAME=/pypi pyregistry serve`` works behind a proxy that
forwards ``/pypi/...`` unchanged, whatever ``--server``; ``--server uvicorn`` once ignored
``SCRIPT_NAME`` (pages at the root, links without it). The default and ``--server gunicorn``
at the root are the session's ``server`` fixture; ``--server uvicorn`` at the root is here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from distbuild import BuiltDists
from e2e_support import SERVE_FLAGS, SIMPLE_JSON, Clients, Server, output, write_config

pytestmark = pytest.mark.e2e

SERVED = [(adapter, "/pypi") for adapter in sorted(SERVE_FLAGS)] + [("serve-uvicorn", "")]


@pytest.fixture(params=SERVED, ids=[f"{adapter}{mount}" for adapter, mount in SERVED])
def serving(request: pytest.FixtureRequest, tmp_path: Path, uploader_hash: str) -> Iterator[Server]:
    """``pyregistry serve --workers 2`` (each ``--server``), with ``SCRIPT_NAME`` when mounted."""
    adapter, mount = request.param
    config = write_config(tmp_path / "pyregistry.ini", tmp_path / "packages", uploader_hash)
    running = Server(adapter, config, tmp_path / "server.log", tmp_path, mount=mount)
    try:
        yield running
    finally:
        running.stop()


def test_serve_takes_uploads_and_installs(
    serving: Server, clients: Clients, acme: dict[str, BuiltDists], tmp_path: Path
) -> None:
    """twine uploads, the page links below the mount, pip installs through it, and the
    access log names the request (path within the mount)."""
    dists = acme["1.0"]
    upload = clients.twine_upload(serving, dists.wheel, dists.sdist)
    assert upload.returncode == 0, output(upload)
    page = serving.request("GET", f"{serving.mount}/simple/acme-utils/", {"Accept": SIMPLE_JSON})
    assert page.status == 200, page.body
    links = [
        urlsplit(urljoin(f"{serving.url}/simple/acme-utils/", f["url"])).path for f in page.json()["files"]
    ]
    assert len(links) == 2
    assert all(link.startswith(f"{serving.mount}/files/acme-utils/") for link in links), links
    assert serving.request("GET", links[0]).status == 200
    venv = clients.venv(tmp_path / "venv")
    result = clients.pip(
        "install", "--no-cache-dir", "--index-url", serving.index_url, "acme-utils", python=venv
    )
    assert result.returncode == 0, output(result)
    assert "Successfully installed acme-utils-1.0" in result.stdout.replace("acme_utils", "acme-utils"), (
        output(result)
    )
    assert '"GET /simple/acme-utils/" 200' in serving.log_text()
