"""The request body as the core reads it: a blocking reader over ``receive()``.

The reader runs on a pool thread and hops to the event loop for more data; each hop
gathers messages until ``_BATCH`` bytes beyond what was asked (or the end), so a large
upload costs a hop per MiB while memory stays bounded by the batch. The event loop only
collects the servers' chunks; joining them into what ``read`` returns happens on the
reader's thread, one copy, so a slow upload takes as little of the loop as it can.
"""

from __future__ import annotations

import asyncio
from collections import deque
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
        self._chunks: deque[bytes] = deque()
        self._offset = 0  # bytes of the first chunk already read
        self._buffered = 0  # bytes received and not yet read
        self._done = False

    async def _gather(self, want: int) -> tuple[list[bytes], int, bool]:
        """On the event loop: the messages' bodies, as they came, until ``want`` bytes or the end."""
        chunks: list[bytes] = []
        size = 0
        while size < want:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                return chunks, size, True
            chunk = message.get("body", b"")
            if chunk:
                chunks.append(chunk)
                size += len(chunk)
            if not message.get("more_body", False):
                return chunks, size, True
        return chunks, size, False

    def _pull(self, want: int) -> None:
        chunks, size, self._done = asyncio.run_coroutine_threadsafe(self._gather(want), self._loop).result()
        self._chunks.extend(chunks)
        self._buffered += size

    def read(self, size: int = -1) -> bytes:
        """Read up to ``size`` bytes (all when negative); fewer only at the end."""
        while not self._done and (size < 0 or self._buffered < size):
            self._pull(self._BATCH if size < 0 else max(size - self._buffered, self._BATCH))
        return self._take(self._buffered if size < 0 else min(size, self._buffered))

    def _take(self, size: int) -> bytes:
        """The next ``size`` buffered bytes (all there): a whole chunk as it is, else one join."""
        chunks = self._chunks
        if size and self._offset == 0 and len(chunks[0]) == size:
            self._buffered -= size
            return chunks.popleft()
        parts: list[bytes | memoryview] = []
        needed = size
        while needed:
            chunk, start = chunks[0], self._offset
            end = min(len(chunk), start + needed)
            parts.append(memoryview(chunk)[start:end] if start or end < len(chunk) else chunk)
            needed -= end - start
            if end == len(chunk):
                chunks.popleft()
                self._offset = 0
            else:
                self._offset = end
        self._buffered -= size
        return b"".join(parts)
