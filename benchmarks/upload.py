"""Memory while a large wheel is uploaded: worker RSS sampled from ``/proc``.

The server streams the file part to a staging file while hashing it, so a worker's RSS
should barely move whatever the file's size; the baseline is the same worker's idle RSS
just before the upload.
"""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import Any

import attrs

from .client import upload
from .context import BenchContext
from .corpus import build_wheel
from .report import Figure, Section
from .s3_server import seaweedfs_s3
from .servers import Server, free_port, pyregistry_serve_command, rss_kib, running

__all__ = ["bench_upload_rss"]

_SAMPLE_SECONDS = 0.01
_NAME = "bench-huge"


class _RssSampler(threading.Thread):
    """Records each worker's highest VmRSS until stopped."""

    def __init__(self, pids: list[int]) -> None:
        super().__init__(daemon=True)
        self.peaks = {pid: rss_kib(pid) for pid in pids}
        self.samples = 0
        self._finished = threading.Event()

    def run(self) -> None:
        while not self._finished.is_set():
            for pid in self.peaks:
                self.peaks[pid] = max(self.peaks[pid], rss_kib(pid))
            self.samples += 1
            time.sleep(_SAMPLE_SECONDS)

    def finish(self) -> dict[int, int]:
        """Stop sampling; the peaks by pid."""
        self._finished.set()
        self.join()
        return self.peaks


def _idle_rss(server: Server) -> dict[int, int]:
    for _ in range(20):  # every worker has answered a few requests
        server.get("/simple/")
    time.sleep(0.5)
    return {pid: rss_kib(pid) for pid in server.worker_pids()}


@attrs.frozen
class _Measured:
    """One upload's figures: the taking worker's idle and peak RSS (KiB), and more."""

    idle: int
    peak: int
    workers: int
    samples: int
    seconds: float
    status: int


def _measure(ctx: BenchContext, config: Path, wheel: Any) -> _Measured:
    """Upload ``wheel`` to a fresh `pyregistry serve` over ``config``, sampling RSS."""
    port = free_port()
    with running(
        "pyregistry serve", pyregistry_serve_command(config, port, ctx.config.workers), port, ctx.log_dir
    ) as server:
        idle = _idle_rss(server)
        sampler = _RssSampler(list(idle))
        sampler.start()
        began = time.perf_counter()
        status, body = upload(
            port, wheel.path.name, wheel.path, name=_NAME, version="1.0", sha256=wheel.sha256
        )
        seconds = time.perf_counter() - began
        peaks = sampler.finish()
        if status != 200:
            raise RuntimeError(f"upload answered {status}: {body[:200]!r}")
        listed = server.get(f"/simple/{_NAME}/")[1]
        if wheel.path.name.encode() not in listed:
            raise RuntimeError("the uploaded wheel is not listed")
    # The worker that took the upload is the one whose RSS moved most.
    pid = max(idle, key=lambda p: peaks[p] - idle[p])
    return _Measured(idle[pid], peaks[pid], len(idle), sampler.samples, seconds, status)


def bench_upload_rss(ctx: BenchContext) -> Section:
    """Peak worker RSS during a 500 MB streaming upload vs the worker's idle RSS (local
    storage, and S3 on SeaweedFS, where the upload is staged in the bucket as it arrives)."""
    megabytes = ctx.config.upload_mb
    wheel = build_wheel(ctx.scratch("upload-wheel"), _NAME, "1.0", megabytes * 1_000_000)
    limit = max(1024, 2 * megabytes)
    settings = {"pypi.max_upload_size": f"{limit}MiB"}
    measured = {}
    try:
        measured["local storage"] = _measure(
            ctx, ctx.registry_config(ctx.scratch("upload-storage"), "upload", **settings), wheel
        )
        with seaweedfs_s3(ctx.scratch(f"upload-seaweedfs-{uuid.uuid4().hex[:8]}")) as new_bucket:
            bucket = new_bucket("bench-upload")
            config = ctx.ini("upload-s3", {**bucket.config(), "pypi.default_write": "everyone", **settings})
            measured["S3 (SeaweedFS)"] = _measure(ctx, config, wheel)
    finally:
        wheel.path.unlink(missing_ok=True)
    size_mb = wheel.size / 1_000_000
    figures = tuple(
        Figure(
            f"peak RSS of the worker that took the upload, {where}",
            m.peak / 1024,
            "its idle RSS",
            m.idle / 1024,
            "MB",
            "<= 1.50",
            f"growth {(m.peak - m.idle) / 1024:,.1f} MB for a {size_mb:,.0f} MB file",
        )
        for where, m in measured.items()
    )
    first = next(iter(measured.values()))
    return Section(
        f"RSS during a {size_mb:,.0f} MB wheel upload (`pyregistry serve`)",
        f"A valid {size_mb:,.0f} MB wheel (one STORED member of random bytes, METADATA, WHEEL, "
        "RECORD) POSTed as twine's multipart form in 1 MiB chunks with a Content-Length, to "
        "local storage and to S3 (SeaweedFS `weed mini`); "
        f"VmRSS of each of the {first.workers} workers read from /proc every "
        f"{_SAMPLE_SECONDS * 1000:g} ms; baseline = the same worker's idle RSS just before the upload.",
        figures,
        tuple(
            f"{where}: upload took {m.seconds:.1f} s ({size_mb / m.seconds:,.0f} MB/s, {m.samples} "
            f"samples), answered {m.status}, and the wheel is listed on its project page."
            for where, m in measured.items()
        ),
    )
