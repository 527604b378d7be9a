"""An upload refused while the client is still sending: the client reads the 4xx, on a real socket.

A server that closes a connection with request bytes still unread makes the kernel reset
it, and the client then loses the answer it was sent. Each server (``pyregistry serve``
under gunicorn's ASGI and sync workers, and under uvicorn) must answer and drain, so the
client gets the message.
"""

from __future__ import annotations

import base64
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import HOST, Server, write_config

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module", params=["serve", "wsgi", "serve-uvicorn"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, uploader_hash: str
) -> Iterator[Server]:
    """``pyregistry serve`` with its default server (gunicorn's ASGI worker), ``--server gunicorn``
    (sync, WSGI) and ``--server uvicorn``."""
    root = tmp_path_factory.mktemp(f"refused-{request.param}")
    config = write_config(root / "pyregistry.ini", root / "packages", uploader_hash)
    running = Server(str(request.param), config, root / "server.log", root)
    try:
        yield running
    finally:
        running.stop()


def _field(boundary: str, name: str, value: bytes) -> bytes:
    return f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value + b"\r\n"


def _many_parts(boundary: str) -> bytes:
    """Far more parts than a form may have (the limit is 1000), 24 MB in all."""
    return b"".join(_field(boundary, f"classifiers{n}", b"x" * 4800) for n in range(5000)) + (
        f"--{boundary}--\r\n".encode()
    )


def _long_field(boundary: str) -> bytes:
    """One 24 MiB field (a field may hold 1 MiB)."""
    return (
        _field(boundary, ":action", b"file_upload")
        + _field(boundary, "summary", b"s" * (24 * 2**20))
        + f"--{boundary}--\r\n".encode()
    )


def _post_and_read(
    port: int, body: bytes, content_type: str, extra_headers: str = ""
) -> tuple[str | None, bytes]:
    """Send the whole request as twine and uv do (all of it, then read the answer).

    Returns the error that sending met, if any (what makes a real client report a
    "connection reset" instead of the answer), and every byte received.
    """
    head = (
        f"POST / HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n{extra_headers}Connection: close\r\n\r\n"
    ).encode()
    send_error = None
    received = b""
    with socket.create_connection((HOST, port), timeout=60) as sock:
        try:
            sock.sendall(head)
            for start in range(0, len(body), 64 * 1024):
                sock.sendall(body[start : start + 64 * 1024])
        except OSError as exc:
            send_error = f"{type(exc).__name__} after sending part of the body"
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
    return send_error, received


@pytest.mark.parametrize(
    ("make_body", "message"),
    [
        (_many_parts, b"Invalid upload: the multipart form is malformed or has too many parts.\n"),
        (_long_field, b"Invalid upload: form field 'summary' is too large.\n"),
    ],
)
def test_client_reads_the_refusal_of_a_form_it_is_still_sending(server: Server, make_body, message):
    """A form refused mid-body is drained, so the client sends it all and then reads the refusal."""
    boundary = uuid.uuid4().hex
    for _ in range(3):  # a reset is a race: several rounds make a lucky pass unlikely
        send_error, received = _post_and_read(
            server.port, make_body(boundary), f"multipart/form-data; boundary={boundary}"
        )
        assert send_error is None
        assert received.startswith(b"HTTP/1.1 400 "), received[:200]
        assert received.endswith(message), received[-300:]


def test_client_reads_the_refusal_of_its_credentials(server: Server):
    """An upload with a wrong password (twine's commonest mistake) is drained, and the 401 read."""
    boundary = uuid.uuid4().hex
    wrong = base64.b64encode(b"e2e:not-the-password").decode()
    send_error, received = _post_and_read(
        server.port,
        _long_field(boundary),
        f"multipart/form-data; boundary={boundary}",
        f"Authorization: Basic {wrong}\r\n",
    )
    assert send_error is None
    assert received.startswith(b"HTTP/1.1 401 "), received[:200]
    assert received.endswith(b"Invalid or non-existent authentication information.\n"), received[-300:]


def test_server_still_serves_after_refusals(server: Server, tmp_path: Path):
    """After refused uploads the server is healthy."""
    assert server.request("GET", "/health").status == 200
