"""Responses out through ``send()``: headers, bytes, and file bodies.

A file body leaves in one ``http.response.pathsend`` message when the server offers
that extension and the body is a whole local file (the server sends it without copying
it through Python); otherwise in chunks of ``CHUNK`` bytes, each read by one call on the
file pool, which closes the file with the last. Either way the file is opened (on the
file pool, with the first chunk) before the status is sent, so bytes the store lost
answer a whole error response (``open_file_body``), never 200 headers and a broken
connection.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import IO, Any

from pyregistry_core import FileBody, Prepared, Response, open_file_body

from ._pools import BoundedPool, PoolBusy

__all__ = ["CHUNK", "Send", "send_busy", "send_prepared", "send_response"]

CHUNK = 1024 * 1024
PATHSEND = "http.response.pathsend"  # ASGI extension: the server sends a file by path
RETRY_AFTER = "1"  # seconds: a busy pool frees a thread as soon as any request ends

Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
log = logging.getLogger("pyregistry")


class _FileReader:
    """Reads a ``FileBody`` a chunk per call (on a pool thread); closes after the last."""

    def __init__(self, body: FileBody, handle: IO[bytes]) -> None:
        self._handle = handle
        self.left = body.length
        self.closed = False

    @classmethod
    def start(cls, body: FileBody, *, first_chunk: bool) -> tuple[_FileReader, bytes] | Response:
        """Open ``body`` (and read its first chunk): the reader, or the error response to send."""
        opened = open_file_body(body)
        if isinstance(opened, Response):
            return opened
        reader = cls(body, opened)
        if not first_chunk:
            reader.close()
            return reader, b""
        try:
            return reader, reader.next_chunk() if body.length > 0 else b""
        except BaseException:
            reader.close()
            raise

    def next_chunk(self) -> bytes:
        """Up to ``CHUNK`` more bytes; b"" when the file ends early."""
        data = self._handle.read(min(CHUNK, self.left))
        self.left = self.left - len(data) if data else 0
        if self.left <= 0:
            self.close()
        return data

    def close(self) -> None:
        """Release the file (idempotent)."""
        if not self.closed:
            self._handle.close()
        self.closed = True


def _whole_local_file(response: Response, scope: MutableMapping[str, Any]) -> str | None:
    """The path to hand the server with ``pathsend``, if it offers it and may send the
    whole file as it is: a 200 of a local file (a range is a 206 and starts elsewhere)."""
    body = response.body
    extensions = scope.get("extensions") or {}
    if PATHSEND not in extensions or not isinstance(body, FileBody) or body.path is None:
        return None
    if response.status != 200 or body.start != 0 or not os.path.isabs(body.path):
        return None
    return body.path


def _encoded_headers(response: Response) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]


async def send_prepared(prepared: Prepared, send: Send) -> None:
    """Send a prepared answer (its headers encoded once, kept with it)."""
    response = prepared.response
    headers: tuple[tuple[bytes, bytes], ...] | None = prepared.wire.get("asgi")  # type: ignore[assignment]
    if headers is None:
        headers = tuple(_encoded_headers(response))
        prepared.wire["asgi"] = headers
    await send({"type": "http.response.start", "status": response.status, "headers": list(headers)})
    await send({"type": "http.response.body", "body": response.body})


async def send_response(
    response: Response, send: Send, scope: MutableMapping[str, Any], files: BoundedPool
) -> None:
    """Send ``response``; a file body through ``pathsend`` or the file pool."""
    body = response.body
    if isinstance(body, bytes):
        await _send_whole(response, body, send)
        return
    path = _whole_local_file(response, scope)
    # Opened before the status goes out; with pathsend only to know the bytes are there.
    started = await files.run(_FileReader.start, body, first_chunk=path is None)
    if isinstance(started, Response):  # the store lost the bytes, or does not answer
        await _send_whole(started, started.body if isinstance(started.body, bytes) else b"", send)
        return
    reader, chunk = started
    try:
        await send(
            {"type": "http.response.start", "status": response.status, "headers": _encoded_headers(response)}
        )
        if path is not None:
            await send({"type": PATHSEND, "path": path})
            return
        more = bool(chunk) and reader.left > 0
        await send({"type": "http.response.body", "body": chunk, "more_body": more})
        while more:
            chunk = await files.run(reader.next_chunk)
            # A file shorter than recorded ends here: the server sees the short body.
            more = bool(chunk) and reader.left > 0
            await send({"type": "http.response.body", "body": chunk, "more_body": more})
    finally:
        if not reader.closed:  # a client gone mid-body, or a read error
            await files.run(reader.close)


async def _send_whole(response: Response, body: bytes, send: Send) -> None:
    await send(
        {"type": "http.response.start", "status": response.status, "headers": _encoded_headers(response)}
    )
    await send({"type": "http.response.body", "body": body})


async def send_busy(busy: PoolBusy, send: Send) -> None:
    """503 with ``Retry-After``: the pool this request needs cannot even queue it."""
    log.warning("503 Service Unavailable: %s", busy)
    body = f"Too many {busy.pool.name} requests in progress; try again shortly.\n".encode()
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", RETRY_AFTER.encode()),
        (b"connection", b"close"),  # an upload's unread body goes with the connection
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})
