"""The ASGI adapter's bounded pools and file bodies, driven in-process through raw ASGI."""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pyregistry_asgi
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyregistry_asgi._pools import BoundedPool, PoolBusy
from pyregistry_asgi._send import CHUNK, PATHSEND

from pyregistry_core import ConfigError, Registry, Settings

Message = dict[str, Any]
BUSY_UPLOAD = b"Too many upload requests in progress; try again shortly.\n"


def scope_of(method: str, path: str, headers: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    """An HTTP scope as uvicorn builds it."""
    raw = {"host": "testserver", **(headers or {})}
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in raw.items()],
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 50000),
        **extra,
    }


async def call(
    app: Any, scope: dict[str, Any], body: bytes = b"", hold: asyncio.Event | None = None
) -> list[Message]:
    """Run one request; with ``hold``, the body's last byte arrives only once it is set."""
    pieces = [body[:-1], body[-1:]] if hold is not None and body else [body]
    sent: list[Message] = []
    state = {"next": 0}

    async def receive() -> Message:
        index = state["next"]
        state["next"] += 1
        if index >= len(pieces):
            return {"type": "http.disconnect"}
        if index == 1 and hold is not None:
            await hold.wait()
        return {"type": "http.request", "body": pieces[index], "more_body": index < len(pieces) - 1}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


def status_of(messages: list[Message]) -> int:
    """The status of a response's start message."""
    assert messages[0]["type"] == "http.response.start"
    return int(messages[0]["status"])


def header(messages: list[Message], name: str) -> str | None:
    """A response header's value."""
    for key, value in messages[0]["headers"]:
        if key.decode().lower() == name:
            return str(value.decode())
    return None


def body_of(messages: list[Message]) -> bytes:
    """The concatenated body messages (asserting the last one ends the response)."""
    bodies = [m for m in messages[1:] if m["type"] == "http.response.body"]
    assert not bodies[-1].get("more_body", False)
    return b"".join(m["body"] for m in bodies)


def upload_body(build: Any, name: str, padding: int = 0) -> tuple[bytes, dict[str, str], Any]:
    """The upload form of a wheel of ``name``, its headers, and the wheel."""
    dist = build.wheel(name, stored_padding=padding)
    body, content_type = build.encode_upload(dist)
    return body, {"content-type": content_type, "content-length": str(len(body))}, dist


@pytest.fixture
def local(make_registry: Callable[..., Registry]) -> Registry:
    """A registry on a local directory where anyone may upload."""
    return make_registry(storage="local")


def run(coroutine: Awaitable[Any]) -> Any:
    """Run a coroutine on a fresh event loop."""
    return asyncio.run(coroutine)  # type: ignore[arg-type]


# -- file bodies -------------------------------------------------------------------------


def test_pathsend_hands_the_server_the_stored_file(local: Registry, build: Any) -> None:
    """A server offering http.response.pathsend gets the whole local file by absolute path, no body bytes."""
    app = pyregistry_asgi.make_app(local)
    body, headers, dist = upload_body(build, "sent-by-path", padding=3 * CHUNK)
    assert status_of(run(call(app, scope_of("POST", "/legacy/", headers), body))) == 200
    scope = scope_of("GET", dist.url_path, extensions={PATHSEND: {}})
    messages = run(call(app, scope))
    assert status_of(messages) == 200
    assert header(messages, "content-length") == str(len(dist.data))
    (sent,) = messages[1:]
    assert sent["type"] == PATHSEND
    assert Path(sent["path"]).is_absolute()
    assert Path(sent["path"]).read_bytes() == dist.data


def test_without_pathsend_a_file_leaves_in_1mib_chunks_one_pool_call_each(
    local: Registry, build: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the extension 2.5 MiB leave in 1 MiB chunks, each read by exactly one file-pool call."""
    calls: list[str] = []
    original = BoundedPool.run

    async def counting(self: BoundedPool, function: Any, /, *args: Any, **kwargs: Any) -> Any:
        calls.append(self.name)
        return await original(self, function, *args, **kwargs)

    app = pyregistry_asgi.make_app(local)
    body, headers, dist = upload_body(build, "sent-in-chunks", padding=5 * CHUNK // 2)
    assert status_of(run(call(app, scope_of("POST", "/legacy/", headers), body))) == 200
    monkeypatch.setattr(BoundedPool, "run", counting)
    messages = run(call(app, scope_of("GET", dist.url_path)))
    assert status_of(messages) == 200
    chunks = [m for m in messages[1:] if m["type"] == "http.response.body"]
    assert len(chunks) == math.ceil(len(dist.data) / CHUNK)
    assert all(len(m["body"]) <= CHUNK for m in chunks)
    assert [m["more_body"] for m in chunks] == [True] * (len(chunks) - 1) + [False]
    assert body_of(messages) == dist.data
    assert calls.count("file") == len(chunks)


def test_a_range_is_never_pathsent(local: Registry, build: Any) -> None:
    """A Range request gets a 206 with exactly its bytes as body messages, even when pathsend is offered."""
    app = pyregistry_asgi.make_app(local)
    body, headers, dist = upload_body(build, "ranged")
    assert status_of(run(call(app, scope_of("POST", "/legacy/", headers), body))) == 200
    scope = scope_of("GET", dist.url_path, {"range": "bytes=10-29"}, extensions={PATHSEND: {}})
    messages = run(call(app, scope))
    assert status_of(messages) == 206
    assert all(m["type"] == "http.response.body" for m in messages[1:])
    assert body_of(messages) == dist.data[10:30]


def test_a_file_in_memory_storage_is_streamed_even_when_pathsend_is_offered(
    make_registry: Callable[..., Registry], build: Any
) -> None:
    """A store without local paths sends body messages whatever the server offers."""
    app = pyregistry_asgi.make_app(make_registry())
    body, headers, dist = upload_body(build, "in-memory")
    assert status_of(run(call(app, scope_of("POST", "/legacy/", headers), body))) == 200
    messages = run(call(app, scope_of("GET", dist.url_path, extensions={PATHSEND: {}})))
    assert status_of(messages) == 200
    assert body_of(messages) == dist.data


# -- bounded pools ---------------------------------------------------------------------


async def _busy_uploads(registry: Registry, build: Any, queue: int) -> tuple[list[int], int, list[Message]]:
    """Hold ``1 + queue`` uploads open on a one-thread upload pool; one more, and a page."""
    app = pyregistry_asgi.make_app(registry, upload_threads=1, thread_queue=queue)
    release = asyncio.Event()
    held = []
    for i in range(1 + queue):
        body, headers, _ = upload_body(build, f"held-{i}")
        held.append(asyncio.ensure_future(call(app, scope_of("POST", "/legacy/", headers), body, release)))
    await asyncio.sleep(0)  # each held upload is admitted when its task first runs
    body, headers, _ = upload_body(build, "one-too-many")
    refused = await call(app, scope_of("POST", "/legacy/", headers), body)
    page = await call(app, scope_of("GET", "/simple/"))
    release.set()
    statuses = [status_of(m) for m in await asyncio.gather(*held)]
    return statuses, status_of(page), refused


@pytest.mark.parametrize("queue", [0, 2])
def test_a_full_upload_pool_answers_503_with_retry_after_while_pages_answer(
    make_registry: Callable[..., Registry], build: Any, queue: int
) -> None:
    """Upload thread busy and queue full: one more upload gets 503 + Retry-After; pages still 200."""
    statuses, page, refused = run(_busy_uploads(make_registry(), build, queue))
    assert status_of(refused) == 503
    assert header(refused, "retry-after") == "1"
    assert body_of(refused) == BUSY_UPLOAD
    assert page == 200
    assert statuses == [200] * (1 + queue)  # the held and the queued ones all finish


@settings(max_examples=25, deadline=None)
@given(threads=st.integers(1, 4), queue=st.integers(0, 4), calls=st.integers(0, 12))
def test_a_pool_admits_threads_plus_queue_calls_and_refuses_the_rest(
    threads: int, queue: int, calls: int
) -> None:
    """Of n calls at once, exactly threads+queue run or wait, the rest get PoolBusy; all admitted finish."""

    async def scenario() -> tuple[list[str], int]:
        pool = BoundedPool("test", threads, queue)
        gate = threading.Event()
        tasks = [asyncio.ensure_future(pool.run(gate.wait, 30)) for _ in range(calls)]
        await asyncio.sleep(0)
        gate.set()
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        pool.shutdown()
        return ["busy" if isinstance(o, PoolBusy) else "ran" for o in outcomes], pool.admitted

    outcomes, left = run(scenario())
    admitted = min(calls, threads + queue)
    assert outcomes == ["ran"] * admitted + ["busy"] * (calls - admitted)
    assert left == 0


def test_a_cancelled_call_holds_its_place_until_its_thread_is_done() -> None:
    """Cancelling a request whose call runs does not admit another call until the thread finishes."""

    async def scenario() -> tuple[bool, str]:
        pool = BoundedPool("test", 1, 0)
        gate, started = threading.Event(), threading.Event()

        def blocking() -> None:
            started.set()
            gate.wait(30)

        first = asyncio.ensure_future(pool.run(blocking))
        while not started.is_set():
            await asyncio.sleep(0.01)
        first.cancel()
        try:
            await pool.run(lambda: None)
            refused = False
        except PoolBusy:
            refused = True
        gate.set()
        for _ in range(3000):
            if pool.admitted == 0:
                break
            await asyncio.sleep(0.01)
        after = await pool.run(lambda: "ran")
        pool.shutdown()
        return refused, after

    assert run(scenario()) == (True, "ran")


# -- configuration -----------------------------------------------------------------------


def test_pool_sizes_come_from_settings_and_make_app_keywords_win(
    make_registry: Callable[..., Registry],
) -> None:
    """pypi.*_threads set the pools; a make_app keyword overrides its key; defaults are as documented."""
    defaults = Settings.from_mapping({}).thread_pools
    assert (defaults.reads, defaults.upstream, defaults.uploads, defaults.files, defaults.queue) == (
        8,
        16,
        8,
        8,
        64,
    )
    registry = make_registry(settings={"pypi.upload_threads": "3", "pypi.thread_queue": "0"})
    assert (registry.settings.thread_pools.uploads, registry.settings.thread_pools.queue) == (3, 0)
    with pytest.raises(ValueError, match="make_app: uploads must be a whole number of at least 1, not 0"):
        pyregistry_asgi.make_app(registry, upload_threads=0)
    pyregistry_asgi.make_app(registry, upload_threads=2, thread_queue=5)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("pypi.read_threads", "0", "pypi.read_threads must be a whole number from 1 to 1024, not '0'"),
        (
            "pypi.upload_threads",
            "many",
            "pypi.upload_threads must be a whole number from 1 to 1024, not 'many'",
        ),
        ("pypi.file_threads", "2.5", "pypi.file_threads must be a whole number from 1 to 1024, not '2.5'"),
        (
            "pypi.upstream_threads",
            "5000",
            "pypi.upstream_threads must be a whole number from 1 to 1024, not '5000'",
        ),
        ("pypi.thread_queue", "-1", "pypi.thread_queue must be a whole number from 0 to 100000, not '-1'"),
    ],
)
def test_a_bad_pool_size_refuses_to_start(key: str, value: str, message: str) -> None:
    """A pool size that is not a whole number in range is a ConfigError naming the key and value."""
    with pytest.raises(ConfigError) as caught:
        Settings.from_mapping({key: value})
    assert str(caught.value) == message
