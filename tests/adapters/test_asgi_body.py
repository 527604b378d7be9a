"""The ASGI adapter's request body reader: the bytes as sent, and few hops to the event loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyregistry_asgi._body import BodyReader

Message = dict[str, Any]


def read_on_a_thread(messages: list[Message], reads: Callable[[BodyReader], list[bytes]]) -> list[bytes]:
    """Run ``reads`` on a thread over a reader whose ``receive()`` yields ``messages``."""

    async def main() -> list[bytes]:
        queue = iter(messages)

        async def receive() -> Message:
            await asyncio.sleep(0)
            return next(queue, {"type": "http.disconnect"})

        reader = BodyReader(receive, asyncio.get_running_loop())
        return await asyncio.to_thread(reads, reader)

    return asyncio.run(main())


def as_messages(chunks: list[bytes], *, ended: bool = True) -> list[Message]:
    """``http.request`` messages carrying ``chunks``; the last one says the body ended."""
    messages: list[Message] = [{"type": "http.request", "body": chunk, "more_body": True} for chunk in chunks]
    if ended:
        messages.append({"type": "http.request", "body": b"", "more_body": False})
    return messages


def read_sizes(sizes: list[int]) -> Callable[[BodyReader], list[bytes]]:
    """Read with each size in turn, then everything left, then once more past the end."""

    def reads(reader: BodyReader) -> list[bytes]:
        return [reader.read(size) for size in sizes] + [reader.read(), reader.read(10)]

    return reads


@settings(max_examples=200, deadline=None)
@given(
    chunks=st.lists(st.binary(max_size=300), max_size=12),
    sizes=st.lists(st.integers(min_value=0, max_value=700), max_size=8),
    ended=st.booleans(),
)
def test_any_split_and_any_read_sizes_give_the_body_as_sent(
    chunks: list[bytes], sizes: list[int], ended: bool
) -> None:
    """However the server splits the body and the core reads it, the bytes come back in order,
    each read as long as asked until the end (a disconnect ends it too), then empty reads."""
    body = b"".join(chunks)
    results = read_on_a_thread(as_messages(chunks, ended=ended), read_sizes(sizes))
    assert b"".join(results) == body
    offset = 0
    for size, got in zip(sizes, results, strict=False):
        assert got == body[offset : offset + size]
        offset += len(got)
    assert results[-1] == b""
    assert all(isinstance(result, bytes) for result in results)


def test_an_upload_read_in_256_kib_pieces_costs_one_event_loop_hop_per_mib(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The core reads uploads 256 KiB at a time; the reader still gathers a MiB per hop
    to the event loop, so an 8 MiB body sent in 64 KiB messages costs 8 hops, not 32."""
    hops = 0
    lock = threading.Lock()
    real = asyncio.run_coroutine_threadsafe

    def counted(coroutine: Coroutine[Any, Any, Any], loop: asyncio.AbstractEventLoop) -> Future[Any]:
        nonlocal hops
        with lock:
            hops += 1
        return real(coroutine, loop)

    monkeypatch.setattr(asyncio, "run_coroutine_threadsafe", counted)
    piece = bytes(range(256)) * 256  # 64 KiB
    results = read_on_a_thread(as_messages([piece] * 128), read_sizes([256 * 1024] * 32))
    assert b"".join(results) == piece * 128
    assert hops == 8 + 1  # a MiB a hop, and one more that sees the end
