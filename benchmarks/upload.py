"""Memory while a large wheel is uploaded: worker RSS sampled from ``/proc``.

The server streams the file part to a staging file while hashing it, so a worker's RSS
should barely move whatever the file's size; the baseline is the same worker's idle RSS
just before the upload.
"""

from __future__ import annotations

import threading
import time

from .client import upload
from .context import BenchContext
from .corpus import build_wheel
from .report import Figure, Section
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


def bench_upload_rss(ctx: BenchContext) -> Section:
    """Peak worker RSS during a 500 MB streaming upload vs the worker's idle RSS."""
    megabytes = ctx.config.upload_mb
    wheel = build_wheel(ctx.scratch("upload-wheel"), _NAME, "1.0", megabytes * 1_000_000)
    storage = ctx.scratch("upload-storage")
    limit = max(1024, 2 * megabytes)
    config = ctx.registry_config(storage, "upload", **{"pypi.max_upload_size": f"{limit}MiB"})
    port = free_port()
    try:
        with running(
            "pyregistry serve",
            pyregistry_serve_command(config, port, ctx.config.workers),
            port,
            ctx.log_dir,
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
    finally:
        wheel.path.unlink(missing_ok=True)
    # The worker that took the upload is the one whose RSS moved most.
    pid = max(idle, key=lambda p: peaks[p] - idle[p])
    growth = (peaks[pid] - idle[pid]) / 1024
    size_mb = wheel.size / 1_000_000
    return Section(
        f"RSS during a {size_mb:,.0f} MB wheel upload (`pyregistry serve`)",
        f"A valid {size_mb:,.0f} MB wheel (one STORED member of random bytes, METADATA, WHEEL, "
        "RECORD) POSTed as twine's multipart form in 1 MiB chunks with a Content-Length; "
        f"VmRSS of each of the {len(idle)} gunicorn workers read from /proc every "
        f"{_SAMPLE_SECONDS * 1000:g} ms ({sampler.samples} samples); baseline = the same "
        "worker's idle RSS just before the upload.",
        (
            Figure(
                "peak RSS of the worker that took the upload",
                peaks[pid] / 1024,
                "its idle RSS",
                idle[pid] / 1024,
                "MB",
                "<= 1.50",
                f"growth {growth:,.1f} MB for a {size_mb:,.0f} MB file",
            ),
        ),
        (
            f"upload took {seconds:.1f} s ({size_mb / seconds:,.0f} MB/s), answered {status}, "
            "and the wheel is listed on its project page.",
        ),
    )
