"""PEP 740 provenance through a real ``pyregistry serve`` proxy: the upstream's object is
advertised on both serializations at our URL, served bound to the file's sha256 (parsed
with pypi-attestations, as a consumer would), and real pip and uv install as before."""

from __future__ import annotations

import json
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from e2e_support import Clients, Server, write_config
from local_server import free_port
from pypi_attestations import Provenance
from test_fallback_e2e import installed, pip_install, uv_install
from upstream_app import UpstreamIndex, provenance_object

pytestmark = pytest.mark.e2e

WHEEL = "ufo_core-1.0-py3-none-any.whl"
PAGE = "/simple/ufo-core/"


@pytest.fixture
def upstream() -> Iterator[UpstreamIndex]:
    """ufo-core 1.0 (a wheel and an sdist); the wheel has a provenance object naming it."""
    with UpstreamIndex() as index:
        index.add("ufo-core", "1.0")
        hosted = index.file(WHEEL)
        hosted.provenance = json.dumps(provenance_object(hosted.filename, hosted.sha256)).encode()
        hosted.provenance_url = f"{index.url}/files/ufo-core/{hosted.filename}.provenance"
        yield index


@pytest.fixture
def proxy(tmp_path: Path, uploader_hash: str, upstream: UpstreamIndex) -> Iterator[Server]:
    """A cache-mode proxy in front of ``upstream``, whose ``pypi.public_url`` is its own
    loopback URL (given without the trailing slash, which is added)."""
    port = free_port()
    config = write_config(
        tmp_path / "pyregistry.ini",
        tmp_path / "packages",
        uploader_hash,
        **{
            "pypi.fallback": "cache",
            "pypi.fallback_base_url": upstream.url,
            "pypi.cache_update": "everyone",
            "pypi.public_url": f"http://127.0.0.1:{port}",
        },
    )
    server = Server("serve", config, tmp_path / "server.log", tmp_path, port=port)
    try:
        yield server
    finally:
        server.stop()


class _Anchors(HTMLParser):
    """``data-provenance`` of each anchor, by the anchor's text (the filename)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.provenance: dict[str, str | None] = {}
        self._open: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Remember an anchor's attribute until its text arrives."""
        if tag == "a":
            self._open = dict(attrs).get("data-provenance") or ""

    def handle_data(self, data: str) -> None:
        """An anchor's text is its filename."""
        if self._open is not None:
            self.provenance[data] = self._open or None
            self._open = None


def _advertised(proxy: Server) -> tuple[dict[str, str | None], dict[str, str | None]]:
    """Filename → provenance URL, from the PEP 691 JSON page and from the HTML page."""
    document = json.loads(proxy.request("GET", PAGE, {"Accept": "application/vnd.pypi.simple.v1+json"}).body)
    from_json = {f["filename"]: f.get("provenance") for f in document["files"]}
    parser = _Anchors()
    parser.feed(proxy.request("GET", PAGE, {"Accept": "text/html"}).body.decode())
    return from_json, parser.provenance


def _served_subjects(proxy: Server, url: str) -> list[dict[str, object]]:
    """GET our (absolute, own-origin) provenance URL; the subjects of every attestation
    pypi-attestations reads in it."""
    assert url.startswith(proxy.url + "/")
    reply = proxy.request("GET", urlsplit(url).path)
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "application/json"
    parsed = Provenance.model_validate_json(reply.body)
    return [
        subject
        for bundle in parsed.attestation_bundles
        for attestation in bundle.attestations
        for subject in json.loads(attestation.envelope.statement)["subject"]
    ]


def test_provenance_passes_through_and_pip_and_uv_still_install(
    proxy: Server, upstream: UpstreamIndex, clients: Clients, tmp_path: Path
) -> None:
    """Both pages point the wheel's provenance at our absolute URL under ``pypi.public_url``
    (the sdist has none); what it serves names the wheel's sha256, before and after pip and
    uv install through the proxy."""
    wheel = upstream.file(WHEEL)
    ours = f"http://127.0.0.1:{proxy.port}/files/ufo-core/{wheel.sha256}/{WHEEL}.provenance"
    expected = {WHEEL: ours, "ufo_core-1.0.tar.gz": None}
    assert _advertised(proxy) == (expected, expected)
    binding = [{"name": WHEEL, "digest": {"sha256": wheel.sha256}}]
    assert _served_subjects(proxy, ours) == binding
    assert upstream.downloads(WHEEL) == 0  # the object came alone, not with the wheel

    for tool, install in (("pip", pip_install), ("uv", uv_install)):
        python = clients.venv(tmp_path / tool)
        install(clients, python, proxy, "ufo-core")
        assert installed(clients, python, "ufo_core") == "1.0"
    assert upstream.downloads(WHEEL) == 1  # cached once, with the object kept earlier
    assert _advertised(proxy) == (expected, expected)
    assert _served_subjects(proxy, ours) == binding
    assert sum(1 for r in upstream.requests if r.path.endswith(".provenance")) == 1
