"""Fixtures of the end-to-end suite: a real server per adapter, real clients, real dists."""

from __future__ import annotations

import subprocess
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from distbuild import BuiltDists, DistBuilder
from e2e_support import BIN, UPLOADER_PASSWORD, Clients, Server, output, write_config

ADAPTERS = ("serve", "wsgi", "asgi")
LOG_TAIL = 12_000


@pytest.fixture(scope="session")
def clients(tmp_path_factory: pytest.TempPathFactory) -> Clients:
    """pip, uv and twine with a clean environment and an empty home directory."""
    return Clients(tmp_path_factory.mktemp("client-home"))


@pytest.fixture(scope="session")
def uploader_hash() -> str:
    """The password hash of the uploading user, from ``pyregistry hash-password``."""
    result = subprocess.run(
        [str(BIN / "pyregistry"), "hash-password"],
        input=UPLOADER_PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, output(result)
    return result.stdout.strip()


@pytest.fixture(scope="session", params=ADAPTERS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, uploader_hash: str
) -> Iterator[Server]:
    """A server on loopback ("serve": ``pyregistry serve`` as shipped, "wsgi": its ``--server
    gunicorn``, "asgi": the ASGI adapter under uvicorn), stopped at the end."""
    adapter = request.param
    root = tmp_path_factory.mktemp(f"server-{adapter}")
    config = write_config(
        root / "pyregistry.ini",
        root / "packages",
        uploader_hash,
        **{"pypi.max_upload_size": "1GiB"},
    )
    running = Server(adapter, config, root / "server.log", root)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def acme(build_dists: DistBuilder) -> dict[str, BuiltDists]:
    """Acme_Utils 1.0 and 1.1, and a 2.0 that needs a Python that does not exist yet."""
    return {
        "1.0": build_dists("Acme_Utils", "1.0", requires_python=">=3.8"),
        "1.1": build_dists("Acme_Utils", "1.1", requires_python=">=3.8"),
        "2.0": build_dists("Acme_Utils", "2.0", requires_python=">=3.99"),
    }


@pytest.fixture(scope="session")
def published(server: Server, clients: Clients, acme: dict[str, BuiltDists]) -> Server:
    """The server once twine uploaded every Acme_Utils wheel and sdist to it."""
    files = [path for dists in acme.values() for path in (dists.wheel, dists.sdist)]
    result = clients.twine_upload(server, *files)
    assert result.returncode == 0, output(result)
    return server


@pytest.fixture
def fresh_venv(clients: Clients, tmp_path: Path) -> Path:
    """The interpreter of a new, empty virtual environment."""
    return clients.venv(tmp_path / "venv")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Show the server's log under a failed test."""
    report = yield
    if report.failed:
        funcargs = getattr(item, "funcargs", {})
        server = funcargs.get("server") or funcargs.get("published")
        if isinstance(server, Server):
            report.sections.append((f"{server.adapter} server log (tail)", server.log_text()[-LOG_TAIL:]))
    return report
