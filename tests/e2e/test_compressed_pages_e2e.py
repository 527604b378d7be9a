"""Real pip and uv get compressed Simple pages from a real server, and still resolve right."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from distbuild import BuiltDists
from e2e_support import Clients, Server, output, write_config

from pyregistry_core.content_coding import coding_named

pytestmark = pytest.mark.e2e

PAGE = "/simple/acme-utils/"
# What uv asks for is "gzip, deflate, zstd": zstd when the server has it (the compression extra).
UV_CODING = "zstd" if coding_named("zstd") is not None else "gzip"


@pytest.fixture(scope="module")
def logging_server(
    tmp_path_factory: pytest.TempPathFactory,
    uploader_hash: str,
    clients: Clients,
    acme: dict[str, BuiltDists],
) -> Iterator[Server]:
    """``pyregistry serve --access-log`` holding every Acme_Utils file; its access lines name
    the content coding of each page (uvicorn's own access log would not: the adapter tests
    check both adapters pass the coding through)."""
    root = tmp_path_factory.mktemp("compressed")
    config = write_config(root / "pyregistry.ini", root / "packages", uploader_hash)
    server = Server("serve", config, root / "server.log", root)
    try:
        files = [path for dists in acme.values() for path in (dists.wheel, dists.sdist)]
        result = clients.twine_upload(server, *files)
        assert result.returncode == 0, output(result)
        yield server
    finally:
        server.stop()


def page_codings(server: Server, offset: int, timeout: float = 5.0) -> list[str]:
    """The content coding of each 200 of ``PAGE`` in the access log after ``offset``
    ("" for none), once at least one shows (or at the timeout)."""
    line = re.compile(rf'"GET {re.escape(PAGE)}" 200 [\d.]+ms ?(\S*)')
    deadline = time.monotonic() + timeout
    while True:
        with server.log_path.open("rb") as log:
            log.seek(offset)
            found = line.findall(log.read().decode(errors="replace"))
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_pip_download_gets_gzip_pages(
    logging_server: Server, clients: Clients, acme: dict[str, BuiltDists], tmp_path: Path
) -> None:
    """pip asks for gzip, gets the project page gzip'd, and downloads the right wheel."""
    offset = logging_server.log_size()
    result = clients.pip(
        "download", "--no-deps", "--no-cache-dir", "--only-binary", ":all:", "-d", str(tmp_path),
        "--index-url", logging_server.index_url, "acme-utils==1.0",
    )  # fmt: skip
    assert result.returncode == 0, output(result)
    wheel = acme["1.0"].wheel
    assert [p.name for p in tmp_path.iterdir()] == [wheel.name]
    assert (tmp_path / wheel.name).read_bytes() == wheel.read_bytes()
    assert page_codings(logging_server, offset) == ["gzip"], logging_server.log_text()[-3000:]


def test_uv_compile_gets_zstd_pages(logging_server: Server, clients: Clients, tmp_path: Path) -> None:
    """uv asks for zstd (or gzip), gets the page compressed, and resolves the newest release
    this Python can install."""
    requirements = tmp_path / "requirements.in"
    requirements.write_text("acme-utils\n")
    offset = logging_server.log_size()
    result = clients.uv(
        "pip",
        "compile",
        "--no-cache",
        "--no-header",
        "--index-url",
        logging_server.index_url,
        str(requirements),
    )
    assert result.returncode == 0, output(result)
    assert "acme-utils==1.1" in result.stdout, output(result)
    assert page_codings(logging_server, offset) == [UV_CODING], logging_server.log_text()[-3000:]
