"""Mount a pyregistry in any ASGI server or app: ``make_app(registry)``.

Raw ASGI, no framework. The synchronous core runs in a worker thread
(``asyncio.to_thread``) so hashing and storage I/O never block the event loop; the
request body is bridged from ``receive()`` to a blocking reader, and file bodies are
sent in chunks read in the worker thread.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from pyregistry_core import FileBody, Identity, Registry, Request, Response, handle, handle_cached

__all__ = ["make_app"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
IdentifyCallable = Callable[[Scope], "Identity | Awaitable[Identity | None] | None"]


class _BodyReader:
    """A blocking file-like reader over ASGI ``http.request`` messages (worker thread side).

    Each hop to the event loop gathers messages until ``_BATCH`` bytes (or the end), so a
    large upload costs few thread switches while memory stays bounded by the batch.
    """

    _BATCH = 1024 * 1024

    def __init__(self, receive: Receive, loop: asyncio.AbstractEventLoop) -> None:
        self._receive = receive
        self._loop = loop
        self._buffer = bytearray()
        self._done = False

    async def _gather(self, want: int) -> tuple[bytes, bool]:
        chunks: list[bytes] = []
        size = 0
        while size < want:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                return b"".join(chunks), True
            chunk = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks), True
        return b"".join(chunks), False

    def _pull(self, want: int) -> None:
        data, self._done = asyncio.run_coroutine_threadsafe(self._gather(want), self._loop).result()
        self._buffer += data

    def read(self, size: int = -1) -> bytes:
        """Read up to ``size`` bytes (all when negative); fewer only at the end."""
        while not self._done and (size < 0 or len(self._buffer) < size):
            self._pull(self._BATCH if size < 0 else max(size - len(self._buffer), 64 * 1024))
        if size < 0 or size >= len(self._buffer):
            data = bytes(self._buffer)
            self._buffer.clear()
        else:
            data = bytes(self._buffer[:size])
            del self._buffer[:size]
        return data


def _to_request(scope: Scope, body: _BodyReader | None, identity: Identity | None) -> Request:
    headers: dict[str, str] = {}
    for raw_key, raw_value in scope.get("headers", []):
        key = raw_key.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    root_path = scope.get("root_path", "").rstrip("/")
    path = scope.get("path", "/")
    # DESIGN.md: when path starts with root_path, strip it (servers differ here).
    if root_path and (path == root_path or path.startswith(root_path + "/")):
        path = path[len(root_path) :]
    query_string = scope.get("query_string", b"").decode("latin-1")
    query = dict(reversed(parse_qsl(query_string, keep_blank_values=True)))
    host = headers.get("host")
    if host is None:
        server = scope.get("server") or ("localhost", 80)
        host = f"{server[0]}:{server[1]}"
    return Request(
        method=scope.get("method", "GET"),
        path=path or "/",
        query=query,
        headers=headers,
        body=body,  # type: ignore[arg-type]
        root_url=f"{scope.get('scheme', 'http')}://{host}{root_path}",
        script_root=root_path,
        identity=identity,
        client=_client_address(scope),
    )


def _client_address(scope: Scope) -> str:
    """The peer's host from the scope's ``client`` pair ("" when the server gives none)."""
    peer = scope.get("client")
    return str(peer[0]) if peer else ""


async def _send_response(response: Response, send: Send) -> None:
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    body = response.body
    if isinstance(body, bytes):
        await send({"type": "http.response.body", "body": body})
        return
    await _send_file(body, send)


async def _send_file(body: FileBody, send: Send) -> None:
    chunks = await asyncio.to_thread(body.chunks)
    try:
        while True:
            chunk = await asyncio.to_thread(next, chunks, b"")
            if not chunk:
                break
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    finally:
        await asyncio.to_thread(chunks.close)


def make_app(
    registry: Registry, identify: IdentifyCallable | None = None
) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """An ASGI application serving ``registry``; ``identify`` may be sync or async."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        identity: Identity | None = None
        if identify is not None:
            result = identify(scope)
            identity = await result if inspect.isawaitable(result) else result
        loop = asyncio.get_running_loop()
        reader = _BodyReader(receive, loop) if scope.get("method", "GET").upper() == "POST" else None
        request = _to_request(scope, reader, identity)
        # A warm page is answered on the event loop; only what needs I/O hops to a thread.
        response = handle_cached(registry, request)
        if response is None:
            response = await asyncio.to_thread(handle, registry, request)
        await _send_response(response, send)

    return app
