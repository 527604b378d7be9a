"""Warm pages while slow uploads and requests to a hanging upstream occupy the server.

16 clients each upload a wheel at 1 MB/s (twine's form, a ``Content-Length`` far larger
than what they send in the window, so every upload stays in flight), and a few clients
ask for projects the registry does not have, which it looks up on an upstream that
accepts connections and never answers. Meanwhile wrk loads a warm page. The figure is
that page's req/s against the same server idle, in alternating slices (issue 12: a warm page
must not wait behind I/O the server is doing for other clients).
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from .bare_apps import PAGES_ENV
from .client import form_head
from .context import BenchContext
from .corpus import BIG_PROJECT
from .load import LoadResult
from .registry_apps import REGISTRY_CONFIG_ENV
from .report import Figure, Section
from .servers import HOST, Server, free_port, pyregistry_serve_command, running

__all__ = ["bench_pages_under_contention"]

UPLOADS = 16
UPLOAD_RATE = 1 << 20  # bytes per second per upload
HANGING_CLIENTS = 4  # concurrent requests waiting on the hanging upstream
_SLICE = 1 << 16
_DECLARED = 64 << 20  # each upload announces 64 MiB (under max_upload_size); the window ends first
_RAMP = 1.0  # seconds the background runs before the loaded measurement starts
_MAX_LOOKUPS = 1000  # per hanging-lookup client: a bound should the lookups stop hanging
TARGET = ">= 0.80"


@contextlib.contextmanager
def hanging_upstream() -> Iterator[str]:
    """An upstream index URL whose server accepts connections and never answers."""
    listener = socket.socket()
    listener.bind((HOST, 0))
    listener.listen(64)
    listener.settimeout(0.2)
    stop = threading.Event()
    held: list[socket.socket] = []

    def accept() -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                held.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{listener.getsockname()[1]}/"
    finally:
        stop.set()
        thread.join(5)
        for connection in held:
            connection.close()
        listener.close()


class _Tally:
    """What the background clients saw: uploads still streaming at ``stop``, lookups answered."""

    def __init__(self) -> None:
        self.streaming = 0
        self.answered = 0
        self.lock = threading.Lock()

    def add(self, *, streaming: int = 0, answered: int = 0) -> None:
        """Count from any thread."""
        with self.lock:
            self.streaming += streaming
            self.answered += answered


def _slow_upload(port: int, number: int, stop: threading.Event, tally: _Tally) -> None:
    """Send one upload at ``UPLOAD_RATE`` until ``stop`` (then drop the connection)."""
    boundary = uuid.uuid4().hex
    name = f"slow-upload-{number}"
    head, tail = form_head(
        boundary, f"slow_upload_{number}-1.0-py3-none-any.whl", name=name, version="1.0", sha256="0" * 64
    )
    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    block = bytes(_SLICE)
    try:
        connection.putrequest("POST", "/")
        connection.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        connection.putheader("Content-Length", str(len(head) + _DECLARED + len(tail)))
        connection.endheaders()
        connection.send(head)
        interval = _SLICE / UPLOAD_RATE
        sent, began = 0, time.perf_counter()
        while not stop.is_set() and sent < _DECLARED:
            connection.send(block)
            sent += _SLICE
            stop.wait(max(0.0, began + sent / UPLOAD_RATE - time.perf_counter()) or interval / 10)
        tally.add(streaming=1)
    except OSError:
        pass  # the server gave up on us: the window's figure is what counts
    finally:
        connection.close()


def _hanging_lookups(port: int, number: int, stop: threading.Event, window: float, tally: _Tally) -> None:
    """Ask for projects the registry must look up upstream, one after another, until ``stop``."""
    for attempt in range(1, _MAX_LOOKUPS + 1):
        if stop.is_set():
            return
        connection = http.client.HTTPConnection(HOST, port, timeout=window)
        with contextlib.suppress(OSError, http.client.HTTPException):
            connection.request("GET", f"/simple/missing-{number}-{attempt}/")
            connection.getresponse().read()
            if not stop.is_set():
                tally.add(answered=1)
        connection.close()


@contextlib.contextmanager
def background(port: int, window: float, tally: _Tally | None = None) -> Iterator[_Tally]:
    """Slow uploads and hanging upstream lookups against ``port`` while the block runs
    (counted in ``tally``, a new one unless given)."""
    stop = threading.Event()
    tally = tally if tally is not None else _Tally()
    threads = [threading.Thread(target=_slow_upload, args=(port, n, stop, tally)) for n in range(UPLOADS)]
    threads += [
        threading.Thread(target=_hanging_lookups, args=(port, n, stop, window, tally))
        for n in range(HANGING_CLIENTS)
    ]
    for thread in threads:
        thread.start()
    try:
        time.sleep(_RAMP)
        yield tally
    finally:
        stop.set()
        for thread in threads:
            thread.join(window + 15)


def _idle_and_loaded(
    ctx: BenchContext, server: Server, path: str, *, alternate: bool
) -> tuple[LoadResult, LoadResult, _Tally]:
    """The page's load idle and with the background, each the mean of ``ctx.config.rounds``
    slices of ``ctx.config.seconds``. With ``alternate`` the slices go idle, loaded, loaded,
    idle, ... so a machine getting busier hits both sides alike; without it every idle slice
    comes first (sync workers: lookups of the hanging upstream hold them until
    ``pypi.upstream_timeout``, so an idle slice after a loaded one would measure that)."""
    url = server.url(path)
    rounds = max(1, ctx.config.rounds)
    slice_seconds = max(1.0, ctx.config.seconds / rounds)
    ctx.load.run(url, max(1.0, ctx.config.warmup), {})
    tally = _Tally()
    runs: dict[str, list[LoadResult]] = {"idle": [], "loaded": []}

    def measure(side: str) -> None:
        if side == "idle":
            runs["idle"].append(ctx.load.run(url, slice_seconds, {}))
            return
        with background(server.port, slice_seconds + 3, tally):
            runs["loaded"].append(ctx.load.run(url, slice_seconds, {}))

    if alternate:
        for round_number in range(rounds):
            for side in ("loaded", "idle") if round_number % 2 else ("idle", "loaded"):
                measure(side)
    else:
        for side in ["idle"] * rounds + ["loaded"] * rounds:
            measure(side)
    return _mean(runs["idle"]), _mean(runs["loaded"]), tally


def _mean(results: list[LoadResult]) -> LoadResult:
    """One figure for a side: mean req/s of its slices, median of their p99s."""
    return LoadResult(
        sum(r.requests_per_second for r in results) / len(results),
        sum(r.requests for r in results),
        sum(r.errors for r in results),
        statistics.median(r.p99_ms for r in results),
    )


def _figures(label: str, idle: LoadResult, loaded: LoadResult, target: str) -> list[Figure]:
    note = f"{loaded.errors} errors or timeouts under load" if loaded.errors else ""
    figures = [
        Figure(
            label,
            loaded.requests_per_second,
            "same server idle",
            idle.requests_per_second,
            "req/s",
            target,
            note,
        )
    ]
    if idle.p99_ms and loaded.p99_ms:
        figures.append(Figure(f"{label}, p99 latency", loaded.p99_ms, "same server idle", idle.p99_ms, "ms"))
    return figures


def bench_pages_under_contention(ctx: BenchContext) -> Section:
    """Warm page req/s with 16 slow uploads and a hanging upstream in the background, vs idle."""
    workers = ctx.config.workers
    path = f"/simple/{BIG_PROJECT}/"
    rounds = max(1, ctx.config.rounds)
    # (name, command, target, whether its idle and loaded slices may alternate)
    contenders: list[tuple[str, Callable[[int, Path], list[str]], str, bool]] = [
        (
            f"pyregistry serve --workers {workers} (gunicorn's ASGI worker, the default)",
            lambda port, config: pyregistry_serve_command(config, port, workers),
            TARGET,
            True,
        ),
        (
            f"pyregistry serve --server uvicorn --workers {workers}",
            lambda port, config: pyregistry_serve_command(config, port, workers, server="uvicorn"),
            TARGET,
            True,
        ),
        (
            f"pyregistry serve --server gunicorn --workers {workers} (sync, WSGI)",
            lambda port, config: pyregistry_serve_command(config, port, workers, server="gunicorn"),
            "",
            False,
        ),
    ]
    figures: list[Figure] = []
    notes: list[str] = []
    with hanging_upstream() as upstream:
        config = ctx.registry_config(
            ctx.large_corpus().root,
            "contention",
            **{
                "pypi.fallback": "cache",
                "pypi.fallback_base_url": upstream,
                "pypi.cache_update": "everyone",
                "pypi.upstream_timeout": "60",
            },
        )
        env = {REGISTRY_CONFIG_ENV: str(config), PAGES_ENV: str(ctx.scratch("contention-pages"))}
        for name, command, target, alternate in contenders:
            port = free_port()
            with running(name, command(port, config), port, ctx.log_dir, env) as server:
                for _ in range(5 * workers):
                    server.get(path)
                idle, loaded, tally = _idle_and_loaded(ctx, server, path, alternate=alternate)
            notes.append(
                f"{name}: {tally.streaming} of {UPLOADS * rounds} uploads ({UPLOADS} in each of "
                f"{rounds} loaded slices) were still streaming when their slice closed; "
                f"{tally.answered} upstream lookups were answered during them."
            )
            figures += _figures(
                f"{path} ({ctx.config.big_files:,} files), HTML, {name}", idle, loaded, target
            )
    return Section(
        "Warm pages while slow uploads and a hanging upstream occupy the server",
        f"{UPLOADS} clients each stream an upload at {UPLOAD_RATE / 2**20:g} MB/s (twine's form, "
        f"64 MiB announced, dropped at the end of the window) and {HANGING_CLIENTS} clients ask for "
        "projects the registry does not hold, which it looks up (`pypi.fallback = cache`) on an "
        "upstream that accepts connections and never answers (`pypi.upstream_timeout = 60`). "
        f"Background starts {_RAMP:g} s before each loaded slice. Load: {ctx.load.name} on the warm "
        f"page, {ctx.config.seconds:g} s under the background against {ctx.config.seconds:g} s on the "
        f"same server idle, each in {rounds} slices (mean req/s, median p99); the ASGI servers' slices "
        "alternate idle, loaded, loaded, idle, ... so a machine getting busier hits both sides alike "
        "(sync workers: every idle slice first, as hanging lookups would hold their workers).",
        tuple(figures),
        tuple(notes),
    )
