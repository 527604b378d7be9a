"""Load generators: Debian's ``wrk`` (as in BENCH.md), or a Python fallback.

``wrk -t2 -c16 -d<secs>s`` is the reference. Without it, a keep-alive generator made
of threads and ``http.client`` runs instead; it is slower than wrk (the GIL), so its
absolute req/s are lower, but both sides of every ratio are measured with it.

Both keep connections alive but open each again about every ``RECONNECT_EVERY``
requests (BENCH.md's method). A server with several worker processes hands a new
connection to whichever worker accepts it first, and an asyncio worker accepts every
connection waiting: with connections kept for a whole run, one worker may get all 16
and the other none, halving that run's req/s by chance, on either side of a ratio.
Reconnecting spreads them the way many clients over time would.
"""

from __future__ import annotations

import http.client
import re
import shutil
import statistics
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import attrs

__all__ = [
    "LoadGenerator",
    "LoadResult",
    "PythonLoad",
    "WrkLoad",
    "alternating",
    "choose_load_generator",
]

WRK_HINT = "wrk not found: install it with `apt-get install -y wrk` (Debian/Ubuntu)"
RECONNECT_EVERY = 100  # requests on a connection before it is opened again (about)
RECONNECT_SCRIPT = Path(__file__).resolve().parent / "reconnect.lua"


@attrs.frozen
class LoadResult:
    """Throughput of one fixed-duration run, how many answers were not 200, and the
    99th percentile of the requests' latency (ms; 0 when not measured)."""

    requests_per_second: float
    requests: int
    errors: int
    p99_ms: float = 0.0


_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _p99_ms(output: str) -> float:
    """The 99 % line of wrk's ``--latency`` distribution, in ms (0 when absent)."""
    found = re.search(r"^\s*99(?:\.0+)?%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
    return float(found.group(1)) * _UNIT_MS[found.group(2)] if found else 0.0


class LoadGenerator(Protocol):
    """Something that loads one URL for a fixed time."""

    @property
    def name(self) -> str:
        """How the output names this generator."""

    def run(self, url: str, seconds: float, headers: Mapping[str, str]) -> LoadResult:
        """Load ``url`` with keep-alive connections for ``seconds``."""


@attrs.frozen
class WrkLoad:
    """``wrk -t<threads> -c<connections> -d<seconds>s``."""

    executable: str
    threads: int = 2
    connections: int = 16

    @property
    def name(self) -> str:
        """How the output names this generator."""
        return f"wrk -t{self.threads} -c{self.connections}, a reconnect every ~{RECONNECT_EVERY} requests"

    @property
    def reconnect_interval(self) -> int:
        """Requests a wrk thread sends between two reconnects, so each of its connections
        is opened again about every ``RECONNECT_EVERY`` requests."""
        return max(1, round(RECONNECT_EVERY * self.threads / self.connections))

    def run(self, url: str, seconds: float, headers: Mapping[str, str]) -> LoadResult:
        """Run wrk and parse its summary."""
        command = [
            self.executable,
            f"-t{self.threads}",
            f"-c{self.connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "--latency",
            "--script",
            str(RECONNECT_SCRIPT),
        ]
        for key, value in headers.items():
            command += ["-H", f"{key}: {value}"]
        output = subprocess.run(
            [*command, url, "--", str(self.reconnect_interval)],
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 60,
        ).stdout
        rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
        total = re.search(r"(\d+) requests in", output)
        if rate is None or total is None:
            raise RuntimeError(f"cannot read wrk output:\n{output}")
        errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses:\s+(\d+)", output))
        socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
        if socket is not None:
            # A sync worker closes every connection; wrk reconnects, which is not an error.
            errors += int(socket.group(1)) + int(socket.group(3)) + int(socket.group(4))
        return LoadResult(float(rate.group(1)), int(total.group(1)), errors, _p99_ms(output))


@attrs.frozen
class PythonLoad:
    """Threads, each with one ``http.client`` connection reused while the server allows, up
    to ``RECONNECT_EVERY`` requests."""

    connections: int = 16

    @property
    def name(self) -> str:
        """How the output names this generator."""
        return f"python http.client, {self.connections} threads"

    def run(self, url: str, seconds: float, headers: Mapping[str, str]) -> LoadResult:
        """Load ``url`` from ``connections`` threads until the deadline."""
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        deadline = time.perf_counter() + seconds
        counts = [[0, 0] for _ in range(self.connections)]
        latencies: list[list[float]] = [[] for _ in range(self.connections)]

        def worker(slot: list[int], took: list[float]) -> None:
            connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
            while time.perf_counter() < deadline:
                try:
                    began = time.perf_counter()
                    connection.request("GET", target, headers=dict(headers))
                    response = connection.getresponse()
                    response.read()
                    took.append((time.perf_counter() - began) * 1000)
                    slot[0] += 1
                    if response.status != 200:
                        slot[1] += 1
                    if response.will_close or slot[0] % RECONNECT_EVERY == 0:
                        connection.close()  # http.client connects again on the next request
                except (OSError, http.client.HTTPException):
                    slot[1] += 1
                    connection.close()
            connection.close()

        started = time.perf_counter()
        threads = [
            threading.Thread(target=worker, args=(slot, took))
            for slot, took in zip(counts, latencies, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        total = sum(slot[0] for slot in counts)
        ordered = sorted(ms for took in latencies for ms in took)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0.0
        return LoadResult(total / elapsed, total, sum(slot[1] for slot in counts), p99)


def choose_load_generator(preference: str, threads: int, connections: int) -> tuple[LoadGenerator, str]:
    """wrk when installed (unless ``preference`` is ``python``), with a note to print."""
    executable = shutil.which("wrk")
    if preference != "python" and executable is not None:
        wrk = WrkLoad(executable, threads, connections)
        return wrk, f"load generator: {wrk.name}"
    if preference == "wrk":
        raise SystemExit(WRK_HINT)
    note = "load generator: Python fallback" + ("" if executable else f" ({WRK_HINT})")
    return PythonLoad(connections), note


def alternating(
    load: LoadGenerator,
    targets: Sequence[tuple[str, Mapping[str, str]]],
    *,
    seconds: float,
    warmup: float,
    rounds: int,
) -> list[LoadResult]:
    """Warm every ``(url, headers)`` target, then load them in alternating rounds.

    ``seconds`` is split into ``rounds`` slices per target, taken in turn (the order
    reversed every other round), so a busy moment of the machine hits every target
    alike; each result is the mean req/s of its slices and the median of their
    99th-percentile latencies.
    """
    rounds = max(1, rounds)
    slice_seconds = max(1.0, seconds / rounds)
    if warmup > 0:
        for url, headers in targets:
            load.run(url, warmup, headers)
    runs: list[list[LoadResult]] = [[] for _ in targets]
    for round_number in range(rounds):
        order = list(zip(targets, runs, strict=True))
        if round_number % 2:  # A B, B A, ...: a machine getting busier hits both alike
            order.reverse()
        for (url, headers), results in order:
            results.append(load.run(url, slice_seconds, headers))
    return [
        LoadResult(
            sum(r.requests_per_second for r in results) / len(results),
            sum(r.requests for r in results),
            sum(r.errors for r in results),
            statistics.median(r.p99_ms for r in results),
        )
        for results in runs
    ]
