"""A streaming upload client sending the legacy upload form the way twine does.

The body is sent in 1 MiB chunks with a ``Content-Length``, so a 500 MB wheel never sits
in the client's memory either (the upload benchmark samples the server's RSS).
"""

from __future__ import annotations

import http.client
import uuid
from collections.abc import Iterator
from pathlib import Path

__all__ = ["form_head", "upload"]

_CHUNK = 1 << 20


def _field(boundary: str, name: str, value: str) -> bytes:
    return (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n').encode()


def _chunks(content: Path | bytes) -> Iterator[bytes]:
    if isinstance(content, bytes):
        yield content
        return
    with content.open("rb") as handle:
        while block := handle.read(_CHUNK):
            yield block


def form_head(boundary: str, filename: str, *, name: str, version: str, sha256: str) -> tuple[bytes, bytes]:
    """twine's upload form up to the file's bytes, and what follows them."""
    fields = {
        ":action": "file_upload",
        "protocol_version": "1",
        "name": name,
        "version": version,
        "filetype": "bdist_wheel",
        "pyversion": "py3",
        "metadata_version": "2.1",
        "sha256_digest": sha256,
    }
    head = (
        b"".join(_field(boundary, k, v) for k, v in fields.items())
        + (
            f'--{boundary}\r\nContent-Disposition: form-data; name="content"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        ).encode()
    )
    return head, f"\r\n--{boundary}--\r\n".encode()


def upload(
    port: int,
    filename: str,
    content: Path | bytes,
    *,
    name: str,
    version: str,
    sha256: str,
    path: str = "/",
) -> tuple[int, bytes]:
    """POST ``:action=file_upload`` with twine's fields; returns status and body."""
    boundary = uuid.uuid4().hex
    head, tail = form_head(boundary, filename, name=name, version=version, sha256=sha256)
    size = len(content) if isinstance(content, bytes) else content.stat().st_size
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        connection.putrequest("POST", path)
        connection.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        connection.putheader("Content-Length", str(len(head) + size + len(tail)))
        connection.endheaders()
        connection.send(head)
        for block in _chunks(content):
            connection.send(block)
        connection.send(tail)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()
