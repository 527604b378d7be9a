"""Warm pages on S3 through the ASGI adapter with ``pypi.index_ttl = 0`` (moto): every
request revalidates, on a read thread and never on the event loop, and concurrent
requests for one page share conditional GETs."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pyregistry_asgi
import pytest
from pyregistry_asgi._rounds import CheckRounds
from registry_http import make_wheel, upload
from s3_server import Bucket

from pyregistry_core import Registry
from pyregistry_core.storage import S3Storage

CONFIG = {"pypi.default_write": "everyone", "pypi.index_ttl": "0"}
CONCURRENT = 8
_WAIT = 60.0  # bound on waiting for the requests to line up (never a timing assertion)


def _scope(path: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 50000),
    }


async def _get(app: Any, path: str) -> tuple[int, bytes]:
    """One GET through the ASGI app: status and body."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(_scope(path), receive, send)
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return int(sent[0]["status"]), body


def _registry(bucket: Bucket) -> tuple[Registry, S3Storage, list[threading.Thread]]:
    """A registry on S3 holding one file of ``demo``; the threads presigned GETs run on."""
    registry = Registry.from_config(bucket.url_config(shared_session=True, **CONFIG))
    storage = registry.storage
    assert isinstance(storage, S3Storage)
    assert upload(registry, make_wheel("demo", "1.0")).status == 200
    threads: list[threading.Thread] = []
    send = storage.presigned.send

    def recorded(url: str, headers: dict[str, str]) -> Any:
        threads.append(threading.current_thread())
        return send(url, headers)

    storage.presigned.send = recorded  # type: ignore[method-assign]
    return registry, storage, threads


def test_a_warm_page_on_s3_revalidates_on_a_read_thread_not_on_the_event_loop(s3_bucket: Bucket):
    """Each warm page request sends its conditional GET from the adapter's read pool,
    so the event loop stays free while S3 answers."""
    registry, _, threads = _registry(s3_bucket)
    app = pyregistry_asgi.make_app(registry)

    async def three_pages() -> tuple[threading.Thread, list[int]]:
        statuses = [(await _get(app, "/simple/demo/"))[0] for _ in range(3)]
        return threading.current_thread(), statuses

    loop_thread, statuses = asyncio.run(three_pages())
    assert statuses == [200, 200, 200]
    assert len(threads) >= 3  # every request revalidated (index_ttl = 0)
    assert loop_thread not in threads
    assert {thread.name.rsplit("_", 1)[0] for thread in threads} == {"pyregistry-read"}


def test_concurrent_requests_for_one_page_share_conditional_gets(s3_bucket: Bucket):
    """Eight requests for one page arriving while its revalidation is held are answered
    by one more conditional GET and one thread hop, not eight (a round on the event loop),
    and each lists the file."""
    registry, storage, _threads = _registry(s3_bucket)
    # One read thread and no queue: eight requests each hopping to it would be refused 503.
    app = pyregistry_asgi.make_app(registry, read_threads=1, thread_queue=0)
    asyncio.run(_get(app, "/simple/demo/"))  # warm: the page is kept, every request revalidates
    gate, entered = threading.Event(), threading.Event()
    held_gets: list[str] = []
    send = storage.presigned.send

    def held(url: str, headers: dict[str, str]) -> Any:
        held_gets.append(url)
        entered.set()
        gate.wait(_WAIT)
        return send(url, headers)

    storage.presigned.send = held  # type: ignore[method-assign]

    async def together() -> list[tuple[int, bytes]]:
        first = asyncio.ensure_future(_get(app, "/simple/demo/"))
        deadline = time.monotonic() + _WAIT
        while not entered.is_set() and time.monotonic() < deadline:  # its round holds the GET
            await asyncio.sleep(0.01)
        # arriving while that round runs: they queue for the next one, on the event loop
        others = [asyncio.ensure_future(_get(app, "/simple/demo/")) for _ in range(CONCURRENT - 1)]
        await asyncio.sleep(0)
        gate.set()
        return await asyncio.gather(first, *others)

    answers = asyncio.run(together())
    assert [status for status, _ in answers] == [200] * CONCURRENT
    assert all(b"demo-1.0-py3-none-any.whl" in body for _, body in answers)
    assert len(held_gets) == 2  # manifest GETs: the held one, and one for everyone who came after


UPLOADS = 12
LOADERS = 6


def test_a_write_through_one_registry_is_on_the_next_request_to_another_s_asgi_app(
    s3_bucket: Bucket, monkeypatch: pytest.MonkeyPatch
):
    """Files and projects uploaded through registry A are each on the very next page
    served by registry B's ASGI app on the same bucket, while other requests to B keep
    rounds of revalidation running (a round that started before the upload serves no one
    who arrived after it)."""
    writer = Registry.from_config(s3_bucket.url_config(shared_session=True, **CONFIG))
    reader = Registry.from_config(s3_bucket.url_config(shared_session=True, **CONFIG))
    assert upload(writer, make_wheel("demo", "0.1")).status == 200
    made: list[CheckRounds] = []
    monkeypatch.setattr(pyregistry_asgi, "CheckRounds", lambda: made.append(CheckRounds()) or made[-1])
    app = pyregistry_asgi.make_app(reader)

    async def scenario() -> tuple[list[str], int]:
        for path in ("/simple/demo/", "/simple/", "/pypi/demo/json"):
            assert (await _get(app, path))[0] == 200  # warm: kept answers to revalidate
        running = True
        loads = 0

        async def load(path: str) -> None:
            nonlocal loads
            while running:
                assert (await _get(app, path))[0] == 200
                loads += 1
                await asyncio.sleep(0)  # a kept answer is sent without suspending: let others run

        paths = ["/simple/demo/", "/simple/", "/pypi/demo/json"]
        loaders = [asyncio.ensure_future(load(paths[n % 3])) for n in range(LOADERS)]
        missed: list[str] = []
        for n in range(UPLOADS):
            wheel = make_wheel("demo", f"1.{n}") if n % 2 else make_wheel(f"new-{n}", "1.0")
            assert (await asyncio.to_thread(upload, writer, wheel)).status == 200
            path, expected = (
                ("/simple/demo/", f"demo-1.{n}-py3-none-any.whl") if n % 2 else ("/simple/", f"new-{n}")
            )
            if n % 4 == 3:
                path, expected = "/pypi/demo/json", f'"1.{n}"'
            status, body = await _get(app, path)
            if status != 200 or expected.encode() not in body:
                missed.append(f"{path} without {expected}")
        running = False
        await asyncio.gather(*loaders)
        return missed, loads

    missed, loads = asyncio.run(scenario())
    assert missed == []
    assert loads > 0
    assert made[0].rounds > 0  # the pages were answered after shared rounds
