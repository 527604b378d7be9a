"""Large uploads through a live server: memory stays bounded, oversize bodies are refused early."""

from __future__ import annotations

import http.client
import threading
from pathlib import Path

import pytest
from distfiles import write_large_wheel
from e2e_support import (
    HOST,
    Server,
    file_digests,
    post_file,
    rss_bytes,
    upload_fields,
)

pytestmark = pytest.mark.e2e

PAYLOAD_SIZE = 300 * 2**20
MAX_RSS_GROWTH = 60 * 2**20
SAMPLE_INTERVAL = 0.02
MAX_SAMPLES = 100_000


@pytest.fixture(scope="session")
def large_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A valid ~300 MB wheel of project big-blob 1.0, written streaming to disk."""
    path = tmp_path_factory.mktemp("large") / "big_blob-1.0-py3-none-any.whl"
    write_large_wheel(path, "big-blob", "1.0", PAYLOAD_SIZE)
    return path


class RssSampler:
    """Samples the resident memory of some processes in a thread until stopped."""

    def __init__(self, pids: list[int]) -> None:
        self.baseline = {pid: rss_bytes(pid) or 0 for pid in pids}
        self.peak = dict(self.baseline)
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_INTERVAL) and self.samples < MAX_SAMPLES:
            for pid in self.baseline:
                self.peak[pid] = max(self.peak[pid], rss_bytes(pid) or 0)
            self.samples += 1

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def growth(self) -> dict[int, int]:
        """Peak minus baseline, per process."""
        return {pid: self.peak[pid] - self.baseline[pid] for pid in self.baseline}


def test_large_upload_keeps_server_memory_bounded(server: Server, large_wheel: Path) -> None:
    """A 300 MB wheel streamed to the server is stored while no server process grows by 60 MB."""
    digests = file_digests(large_wheel)
    size = large_wheel.stat().st_size
    fields = upload_fields(large_wheel, "big-blob", "1.0", sha256=digests["sha256"])
    with RssSampler(server.process_ids()) as sampler:
        reply = post_file(server, large_wheel, fields)
    assert (reply.status, reply.body) == (200, b"OK\n")
    assert sampler.samples >= 5, "the upload finished before memory could be sampled"
    growth = sampler.growth()
    assert max(growth.values()) < MAX_RSS_GROWTH, {pid: f"{g / 2**20:.1f} MiB" for pid, g in growth.items()}

    (entry,) = server.project_json("big-blob")["files"]
    assert (entry["filename"], entry["size"], entry["hashes"]) == (
        large_wheel.name,
        size,
        {"sha256": digests["sha256"]},
    )
    tail = server.request("GET", server.file_path("big-blob", large_wheel.name), {"Range": "bytes=-4096"})
    with large_wheel.open("rb") as handle:
        handle.seek(size - 4096)
        assert (tail.status, tail.body) == (206, handle.read())


def test_oversize_content_length_is_refused_before_the_body(server: Server) -> None:
    """An upload declaring a body over pypi.max_upload_size gets 413 before any of it is sent."""
    connection = http.client.HTTPConnection(HOST, server.port, timeout=30)
    try:
        connection.putrequest("POST", "/legacy/")
        connection.putheader("Content-Type", "multipart/form-data; boundary=e2e")
        connection.putheader("Content-Length", str(2 * 2**30))
        connection.endheaders()
        response = connection.getresponse()
        assert response.status == 413
        assert response.read() == b"File too large. Limit for this index is 1024 MiB.\n"
    finally:
        connection.close()
