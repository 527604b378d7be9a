"""The request body as the core reads it: a blocking reader over ``receive()``.

The reader runs on a pool thread and hops to the event loop for more data; each hop
gathers messages until ``_BATCH`` bytes (or the end), so a large upload costs few thread
switches while memory stays bounded by the batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["BodyReader", "Receive"]

Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]


class BodyReader:
    """A blocking file-like reader over ASGI ``http.request`` messages (pool thread side)."""

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
