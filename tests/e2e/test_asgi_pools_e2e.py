"""The ASGI adapter under uvicorn and under ``pyregistry serve``'s default (gunicorn's ASGI
worker) keeps answering warm pages while 16 slow uploads and requests to a hanging
upstream are in flight: each kind has its own bounded pool."""

from __future__ import annotations

import contextlib
import http.client
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from distfiles import write_large_wheel
from e2e_support import (
    HOST,
    SIMPLE_JSON,
    Reply,
    Server,
    multipart,
    post_file,
    upload_fields,
    write_config,
)
from upstream_app import UpstreamIndex

pytestmark = pytest.mark.e2e

SLOW_UPLOADS = 16
HANGING_PAGES = 6
HANGING_FILES = 2
RATE = 1_000_000  # bytes per second of each slow upload
TICKS = 16  # sends per second
PAYLOAD = 2 * 2**20  # bytes of each slow upload's wheel
# Liveness guards, not timing bounds: generous enough for a loaded machine.
WAIT = 120.0


class SlowUpload(threading.Thread):
    """An upload trickled at ``RATE`` that holds its last bytes until ``release`` is set."""

    def __init__(self, server: Server, wheel: Path, name: str, release: threading.Event) -> None:
        super().__init__(daemon=True)
        self.server, self.wheel, self.name, self.release = server, wheel, name, release
        self.started_sending = threading.Event()
        self.reply: Reply | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.reply = self._upload()
        except BaseException as error:  # reported by the test
            self.error = error

    def _upload(self) -> Reply:
        data = self.wheel.read_bytes()
        body = multipart(upload_fields(self.wheel, self.name, "1.0"), self.wheel.name, len(data))
        payload = body.head + data + body.tail
        step = RATE // TICKS
        connection = http.client.HTTPConnection(HOST, self.server.port, timeout=WAIT)
        try:
            connection.putrequest("POST", "/legacy/")
            connection.putheader("Content-Type", body.content_type)
            connection.putheader("Content-Length", str(len(payload)))
            connection.endheaders()
            sent = 0
            # Trickle everything but the last step, then hold it until released.
            while sent < len(payload) - step and not self.release.is_set():
                connection.send(payload[sent : sent + step])
                sent += step
                self.started_sending.set()
                self.release.wait(1 / TICKS)
            self.started_sending.set()
            assert self.release.wait(WAIT), "never released"
            connection.send(payload[sent:])
            response = connection.getresponse()
            return Reply(response.status, response.reason, response.headers, response.read())
        finally:
            connection.close()


class Hanging(threading.Thread):
    """A GET that the server can only answer once the upstream does."""

    def __init__(self, server: Server, path: str) -> None:
        super().__init__(daemon=True)
        self.server, self.path = server, path
        self.reply: Reply | None = None

    def run(self) -> None:
        # An error (the server stopped first) is fine: the test is about other requests.
        with contextlib.suppress(OSError):
            self.reply = self.server.request("GET", self.path, timeout=WAIT)


@pytest.fixture
def upstream() -> Iterator[UpstreamIndex]:
    """An upstream holding one project, far-file, whose wheel nobody fetched yet."""
    with UpstreamIndex() as index:
        index.add("far-file", "1.0", kinds=("wheel",))
        yield index


@pytest.fixture(params=["asgi", "serve"])
def server(
    request: pytest.FixtureRequest, tmp_path: Path, uploader_hash: str, upstream: UpstreamIndex
) -> Iterator[Server]:
    """uvicorn, or ``pyregistry serve``, serving the ASGI adapter in cache mode; anyone may
    upload and cache."""
    config = write_config(
        tmp_path / "pyregistry.ini",
        tmp_path / "packages",
        uploader_hash,
        **{
            "pypi.fallback": "cache",
            "pypi.fallback_base_url": upstream.url,
            "pypi.cache_update": "everyone",
            "pypi.upstream_timeout": str(int(WAIT)),
        },
    )
    running = Server(str(request.param), config, tmp_path / "server.log", tmp_path)
    try:
        yield running
    finally:
        running.stop()


def _wheel(directory: Path, name: str, payload: int) -> Path:
    path = directory / f"{name.replace('-', '_')}-1.0-py3-none-any.whl"
    write_large_wheel(path, name, "1.0", payload)
    return path


def _file_path(server: Server, page_path: str, page: Reply) -> str:
    """The path of the first file a JSON project page links to."""
    return urlsplit(urljoin(server.url + page_path, page.json()["files"][0]["url"])).path


def _wait_for_upstream(upstream: UpstreamIndex, pages: int, files: int) -> None:
    """Until the upstream holds ``pages`` cold-name page requests and ``files`` downloads."""
    ready = threading.Event()
    for _ in range(int(WAIT * 10)):
        asked = [r.path for r in upstream.requests]
        if sum("cold-name" in p for p in asked) >= pages and sum(p.endswith(".whl") for p in asked) >= files:
            return
        ready.wait(0.1)
    raise AssertionError(f"the upstream was not asked: {[r.path for r in upstream.requests]}")


def test_warm_pages_answer_while_uploads_and_upstream_hang(
    server: Server, upstream: UpstreamIndex, tmp_path: Path
) -> None:
    """16 slow uploads and 8 requests to a hanging upstream stay open while every warm page answers 200."""
    local = _wheel(tmp_path, "warm-local", 1024)
    assert post_file(server, local, upload_fields(local, "warm-local", "1.0")).status == 200
    far = server.request("GET", "/simple/far-file/", {"Accept": SIMPLE_JSON})
    assert far.status == 200
    far_path = _file_path(server, "/simple/far-file/", far)
    warm = ["/simple/", "/simple/warm-local/", "/pypi/warm-local/json", "/health", "/simple/far-file/"]
    local_page = server.request("GET", "/simple/warm-local/", {"Accept": SIMPLE_JSON})
    warm.append(_file_path(server, "/simple/warm-local/", local_page))
    for path in warm:
        assert server.request("GET", path).status == 200, path

    upstream.faults.delay = 3600.0  # from now on the upstream answers nothing
    release = threading.Event()
    wheels = [_wheel(tmp_path, f"slow-{i}", PAYLOAD) for i in range(SLOW_UPLOADS)]
    uploads = [SlowUpload(server, wheel, f"slow-{i}", release) for i, wheel in enumerate(wheels)]
    hanging = [Hanging(server, f"/simple/cold-name-{i}/") for i in range(HANGING_PAGES)]
    hanging += [Hanging(server, far_path) for _ in range(HANGING_FILES)]
    try:
        for thread in (*uploads, *hanging):
            thread.start()
        for upload in uploads:
            assert upload.started_sending.wait(WAIT)
        _wait_for_upstream(upstream, pages=4, files=1)  # the mirror's fetch pool runs 4 at once
        for round_ in range(3):
            for path in warm:
                reply = server.request("GET", path, timeout=WAIT)
                assert reply.status == 200, (round_, path, reply.body[:200])
        # Every slow request was still open while the warm ones were answered.
        assert [u.reply for u in uploads] == [None] * SLOW_UPLOADS
        assert [h.is_alive() for h in hanging] == [True] * len(hanging)
    finally:
        release.set()
        for upload in uploads:
            upload.join(WAIT)
    assert [(u.error, u.reply and u.reply.status) for u in uploads] == [(None, 200)] * SLOW_UPLOADS
    upstream.stop()  # the hanging requests end (their answers are another test's business)
    for thread in hanging:
        thread.join(WAIT)
