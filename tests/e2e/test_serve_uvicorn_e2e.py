"""``pyregistry serve --server uvicorn``: the ASGI adapter under uvicorn's workers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from distbuild import BuiltDists
from e2e_support import Clients, Server, output, write_config

pytestmark = pytest.mark.e2e


@pytest.fixture
def uvicorn_server(tmp_path: Path, uploader_hash: str) -> Iterator[Server]:
    """``pyregistry serve --server uvicorn --workers 2`` on loopback."""
    config = write_config(tmp_path / "pyregistry.ini", tmp_path / "packages", uploader_hash)
    running = Server("serve-uvicorn", config, tmp_path / "server.log", tmp_path)
    try:
        yield running
    finally:
        running.stop()


def test_serve_with_uvicorn_takes_uploads_and_installs(
    uvicorn_server: Server, clients: Clients, acme: dict[str, BuiltDists], tmp_path: Path
) -> None:
    """twine uploads to and pip installs from serve's uvicorn variant, as from the default."""
    dists = acme["1.0"]
    upload = clients.twine_upload(uvicorn_server, dists.wheel, dists.sdist)
    assert upload.returncode == 0, output(upload)
    venv = clients.venv(tmp_path / "venv")
    result = clients.pip(
        "install", "--no-cache-dir", "--index-url", uvicorn_server.index_url, "acme-utils", python=venv
    )
    assert result.returncode == 0, output(result)
    assert "Successfully installed acme-utils-1.0" in result.stdout.replace("acme_utils", "acme-utils"), (
        output(result)
    )
    assert "GET /simple/acme-utils/" in uvicorn_server.log_text()
