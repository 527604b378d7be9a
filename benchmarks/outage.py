"""Bursts of page requests for a stale mirrored project while the upstream hangs, vs up.

A `pyregistry serve` in cache mode mirrors one project from a small upstream index run
here (a thread answering PEP 691 pages, able to hang until released, counting requests).
The listing is let go stale (``pypi.upstream_ttl`` 1 s), then 6 and 50 concurrent page
requests arrive at once; the burst's wall time (every answer in) is measured with the
upstream up (baseline) and hanging. A hanging upstream must cost the burst nothing: the
stale listing is answered at once while one fetch per worker is in flight, and once it
failed the upstream is not asked again (``mirror.py``, ``breaker.py``).
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import statistics
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .context import BenchContext
from .report import Figure, Section
from .servers import HOST, free_port, pyregistry_serve_command, running

__all__ = ["bench_upstream_outage"]

PROJECT = "outage-demo"
TTL = 1.0
UPSTREAM_TIMEOUT = 3
ROUNDS = 5
BURSTS = (6, 50)
_JSON = "application/vnd.pypi.simple.v1+json"


class _Upstream:
    """A PEP 691 index of one project that counts page requests and hangs on demand."""

    def __init__(self) -> None:
        self.page_requests = 0
        self.hang = threading.Event()  # set: every page request waits for ``release``
        self.release = threading.Event()
        self._lock = threading.Lock()
        wheel = f"{PROJECT.replace('-', '_')}-1.0-py3-none-any.whl"
        document = {
            "meta": {"api-version": "1.1"},
            "name": PROJECT,
            "files": [
                {
                    "filename": wheel,
                    "url": f"/files/{wheel}",
                    "hashes": {"sha256": hashlib.sha256(b"x").hexdigest()},
                    "size": 1,
                    "upload-time": "2024-01-02T03:04:05.000000Z",
                }
            ],
        }
        self.body = json.dumps(document).encode()
        self.server = ThreadingHTTPServer((HOST, 0), self._handler())
        self.server.daemon_threads = True

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                with upstream._lock:
                    upstream.page_requests += 1
                if upstream.hang.is_set():
                    upstream.release.wait(60)  # bounded: never outlives the benchmark
                    self.close_connection = True
                    return
                self.send_response(200)
                self.send_header("Content-Type", _JSON)
                self.send_header("Content-Length", str(len(upstream.body)))
                self.end_headers()
                self.wfile.write(upstream.body)

        return Handler

    @contextlib.contextmanager
    def serving(self) -> Iterator[str]:
        """Serve in a thread; yields the base URL."""
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://{HOST}:{self.server.server_address[1]}"
        finally:
            self.release.set()
            self.server.shutdown()
            self.server.server_close()
            thread.join(10)


def _burst(port: int, count: int) -> tuple[float, list[int]]:
    """Seconds until ``count`` concurrent page requests are all answered, and their statuses."""
    barrier = threading.Barrier(count + 1)
    statuses: list[int] = []
    lock = threading.Lock()

    def one() -> None:
        connection = http.client.HTTPConnection(HOST, port, timeout=60)
        connection.connect()
        barrier.wait()
        connection.request("GET", f"/simple/{PROJECT}/", headers={"Accept": _JSON})
        response = connection.getresponse()
        response.read()
        connection.close()
        with lock:
            statuses.append(response.status)

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join(60)
    return time.perf_counter() - started, statuses


def _rounds(port: int, upstream: _Upstream, count: int) -> tuple[list[float], list[int]]:
    """Each round's burst time, and the upstream page requests made during each burst."""
    times, requests = [], []
    for _ in range(ROUNDS):
        time.sleep(TTL + 0.2)  # the listing goes stale
        before = upstream.page_requests
        elapsed, statuses = _burst(port, count)
        requests.append(upstream.page_requests - before)
        if set(statuses) != {200}:
            raise RuntimeError(f"a burst of {count} got statuses {sorted(set(statuses))}")
        times.append(elapsed)
    return times, requests


def _measure(
    ctx: BenchContext, count: int
) -> tuple[tuple[list[float], list[int]], tuple[list[float], list[int]]]:
    """Bursts of ``count`` against a fresh proxy (its own storage, so its own upstream
    state): upstream up, then hanging. Returns (seconds, upstream requests) per burst."""
    upstream = _Upstream()
    with upstream.serving() as upstream_url:
        config = ctx.registry_config(
            ctx.scratch(f"outage-proxy-{count}"),
            f"outage-proxy-{count}",
            **{
                "pypi.fallback": "cache",
                "pypi.fallback_base_url": upstream_url,
                "pypi.cache_update": "everyone",
                "pypi.upstream_ttl": str(TTL),
                "pypi.upstream_timeout": str(UPSTREAM_TIMEOUT),
            },
        )
        port = free_port()
        command = pyregistry_serve_command(config, port, ctx.config.workers)
        with running("proxy: pyregistry serve, cache mode", command, port, ctx.log_dir):
            for _ in range(4 * ctx.config.workers):  # every worker holds the listing
                _burst(port, 2)
            up = _rounds(port, upstream, count)
            upstream.hang.set()
            hanging = _rounds(port, upstream, count)
            upstream.release.set()
    return up, hanging


def _ms(times: list[float]) -> list[float]:
    return [round(t * 1000, 1) for t in times]


def bench_upstream_outage(ctx: BenchContext) -> Section:
    """Bursts of 6 and 50 page requests for a stale mirrored project: upstream hanging vs up."""
    workers = ctx.config.workers
    figures: list[Figure] = []
    notes: list[str] = []
    measured = {count: _measure(ctx, count) for count in BURSTS}
    up = {count: m[0] for count, m in measured.items()}
    hanging = {count: m[1] for count, m in measured.items()}
    for count in BURSTS:
        (up_times, _), (hang_times, hang_requests) = up[count], hanging[count]
        up_time, hang_time = statistics.median(up_times), statistics.median(hang_times)
        figures.append(
            Figure(
                f"{count} concurrent page requests, stale listing, upstream hanging (burst wall time)",
                hang_time,
                "same burst with the upstream up",
                up_time,
                "s",
                "<= 1.2",
                note=f"median of {ROUNDS} bursts",
            )
        )
        figures.append(
            Figure(
                f"upstream requests during the first hanging burst of {count}",
                hang_requests[0],
                "limit",
                2,
                "requests",
                "<= 1.0",
            )
        )
        notes.append(
            f"Bursts of {count}: up {_ms(up_times)} ms with {up[count][1]} upstream requests; "
            f"hanging {_ms(hang_times)} ms with {hang_requests} (the first hanging burst finds "
            "the outage; later ones are answered while the circuit is open)."
        )
    return Section(
        "Upstream outage: a stale mirrored project under a burst, upstream hanging vs up",
        f"Proxy: `pyregistry serve --workers {workers}`, `pypi.fallback = cache`, "
        f"`pypi.upstream_ttl = {TTL:g}`, `pypi.upstream_timeout = {UPSTREAM_TIMEOUT}`, in front of a "
        "one-project PEP 691 upstream run by the benchmark (it counts page requests and can "
        "hang until released). Each round waits past the TTL, then opens the burst's "
        "connections and sends every request at once; the figure is the time until the last "
        f"answer, median of {ROUNDS} rounds. Each burst size has its own proxy (own storage, "
        "so its own upstream state): up first, then hanging; its first hanging burst is the "
        "one that finds the outage.",
        tuple(figures),
        notes=tuple(notes),
    )
