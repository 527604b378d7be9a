"""The upstream client connects only where it checked it may: the address it actually
connects to, resolved once (no DNS-rebinding gap), never a non-public one other than an
internal upstream's own, and never from https down to http (addresses.py, client.py)."""

from __future__ import annotations

import io
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import urllib3.util.connection
from upstream_app import UpstreamIndex, collect_unclosed_sockets

from pyregistry_core.errors import UpstreamError
from pyregistry_core.upstream.addresses import is_public
from pyregistry_core.upstream.client import HttpUpstream

PUBLIC = "93.184.216.34"  # a global unicast address; the test guard never lets traffic reach it
WHEEL = "foo_bar-1.0-py3-none-any.whl"


@pytest.fixture
def upstream() -> Iterator[UpstreamIndex]:
    """A running upstream index on 127.0.0.1 with ``foo-bar`` 1.0."""
    with UpstreamIndex() as index:
        index.add("Foo_Bar", "1.0")
        yield index


@pytest.fixture(autouse=True)
def connections(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, int]]]:
    """Every address connected to; anything off loopback is refused unsent."""
    attempts: list[tuple[str, int]] = []
    real = urllib3.util.connection.create_connection

    def guarded(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        attempts.append(address)
        if address[0] not in ("127.0.0.1", "localhost"):
            raise OSError(f"test guard: no traffic to {address[0]}")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", guarded)
    yield attempts
    collect_unclosed_sockets()


def _client(url: str) -> HttpUpstream:
    return HttpUpstream(url, timeout=5)


def _download(client: HttpUpstream, url: str) -> bytes:
    out = io.BytesIO()
    try:
        client.download(url, out, 2**20)
    finally:
        client._pool.clear()
    return out.getvalue()


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.2:{port}/x",
        "http://100.64.0.1/x",
        "http://[::ffff:10.0.0.1]/x",
        "http://0.0.0.0:{port}/x",
    ],
)
def test_redirect_to_another_internal_address_is_refused_unsent(
    upstream: UpstreamIndex, connections: list[tuple[str, int]], target: str
) -> None:
    """An internal upstream may not send us to another internal address (100.64/10 included)."""
    hosted = upstream.file(WHEEL)
    target = target.format(port=upstream.port)
    upstream.faults.redirects = {hosted.path: target}
    with pytest.raises(UpstreamError) as caught:
        _download(_client(upstream.url), upstream.url + hosted.path)
    host = target.split("/")[2].rsplit(":", 1)[0] if not target.startswith("http://[") else "::ffff:10.0.0.1"
    assert caught.value.message == f"upstream pointed to an internal address {host!r}; refused"
    assert {address[0] for address in connections} == {"127.0.0.1"}


def test_a_name_is_resolved_once_and_that_address_is_used(
    upstream: UpstreamIndex, connections: list[tuple[str, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name that answers a public address first and loopback after (DNS rebinding) never
    gets the request to loopback: the address checked is the address connected to."""
    real = socket.getaddrinfo
    lookups: list[str] = []

    def rebinding(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "rebind.example":
            return real(host, port, *args, **kwargs)
        lookups.append(host)
        address = PUBLIC if len(lookups) == 1 else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port or 80)))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    hosted = upstream.file(WHEEL)
    upstream.faults.redirects = {hosted.path: f"http://rebind.example:{upstream.port}{hosted.path}?again"}
    with pytest.raises(UpstreamError) as caught:
        _download(_client(upstream.url), upstream.url + hosted.path)
    assert caught.value.message.endswith("failed: NewConnectionError")
    assert lookups == ["rebind.example"]
    assert (PUBLIC, upstream.port) in connections
    assert not [r for r in upstream.requests if r.path.endswith("?again")]


def test_a_public_upstream_is_never_sent_to_an_internal_address(
    upstream: UpstreamIndex, connections: list[tuple[str, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A public upstream whose file host resolves to loopback is refused before connecting."""
    real = socket.getaddrinfo

    def resolve(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "public.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC, int(port or 80)))]
        if host == "files.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", int(port or 80)))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    with pytest.raises(UpstreamError) as caught:
        _download(_client("http://public.example"), f"http://files.example:{upstream.port}/files/x.whl")
    assert caught.value.message == "upstream pointed to an internal address 'files.example'; refused"
    assert connections == []


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("100.64.0.1", False),
        ("100.127.255.254", False),
        ("169.254.169.254", False),
        ("10.1.2.3", False),
        ("::ffff:127.0.0.1", False),
        ("fd00::1", False),
        ("224.0.0.1", False),
        ("2606:4700::1", True),
    ],
)
def test_is_public(address: str, public: bool) -> None:
    """Only global unicast addresses are public; IPv4-mapped forms are judged as IPv4."""
    import ipaddress

    assert is_public(ipaddress.ip_address(address)) is public


# -- https never downgrades ------------------------------------------------------------------


@pytest.fixture
def tls_redirector(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, upstream: UpstreamIndex) -> Iterator[str]:
    """An https server on loopback (its self-signed certificate trusted for this test) that
    redirects every request to the plain-http upstream; yields its base URL."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    target = upstream.url

    class Redirect(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", target + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_https_upstream_redirect_to_http_is_refused(tls_redirector: str, upstream: UpstreamIndex) -> None:
    """An https upstream redirecting to http is refused before the plain request is sent."""
    client = _client(tls_redirector)
    with pytest.raises(UpstreamError) as caught:
        _download(client, f"{tls_redirector}/files/foo-bar/{WHEEL}")
    assert caught.value.message == (
        f"upstream redirected from https to '{upstream.url}/files/foo-bar/{WHEEL}'; refused"
    )
    assert upstream.requests == []
