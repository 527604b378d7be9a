"""Warm Simple pages: req/s of pyregistry against a bare app on the same server.

Both servers run side by side (idle ones cost nothing) and each endpoint is loaded on
pyregistry, then on the bare app, so every ratio comes from the same minute.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

import attrs

from .bare_apps import PAGES_ENV, SERVER_HEADERS, Pages, save_pages
from .context import BenchContext
from .corpus import BIG_PROJECT
from .load import LoadResult, alternating
from .registry_apps import REGISTRY_CONFIG_ENV
from .report import Figure, Section
from .servers import (
    Server,
    free_port,
    gunicorn_command,
    pyregistry_serve_command,
    running,
    uvicorn_command,
)

__all__ = ["bench_asgi_pages_gunicorn", "bench_asgi_pages_uvicorn", "bench_wsgi_pages", "fetch_pages"]

JSON = "application/vnd.pypi.simple.v1+json"
BARE_WSGI = "benchmarks.bare_apps:bare_wsgi()"
SMALL_PROJECT = "project-00000"
# A warm page is a cached byte string: nearly the bare app's rate (issue 12).
WSGI_TARGET = ">= 0.90"
ASGI_TARGET = ">= 0.85"
P99_TARGET = "<= 1.50"  # 99th-percentile latency against the bare app's under the same load


@attrs.frozen
class Endpoint:
    """One page to load, in one format, plain or gzip'd."""

    label: str
    path: str
    json: bool
    gzip: bool = False

    @property
    def headers(self) -> dict[str, str]:
        """The request headers wrk sends."""
        headers = {"Accept": JSON} if self.json else {}
        if self.gzip:
            headers["Accept-Encoding"] = "gzip"
        return headers


def endpoints(ctx: BenchContext) -> tuple[Endpoint, ...]:
    """The index and the big project's page as HTML and as PEP 691 JSON, the big page
    gzip'd (HTML), and a small project's page."""
    files, projects = ctx.config.big_files, ctx.config.projects
    big = f"/simple/{BIG_PROJECT}/ ({files:,} files)"
    index = f"/simple/ ({projects:,} projects)"
    small = f"/simple/{SMALL_PROJECT}/ (1 file)"
    return (
        Endpoint(f"{index}, HTML", "/simple/", json=False),
        Endpoint(f"{index}, JSON", "/simple/", json=True),
        Endpoint(f"{big}, HTML", f"/simple/{BIG_PROJECT}/", json=False),
        Endpoint(f"{big}, JSON", f"/simple/{BIG_PROJECT}/", json=True),
        Endpoint(f"{small}, HTML", f"/simple/{SMALL_PROJECT}/", json=False),
        Endpoint(f"{big}, HTML, Accept-Encoding: gzip", f"/simple/{BIG_PROJECT}/", json=False, gzip=True),
    )


def _key(point: Endpoint, sent: dict[str, str]) -> tuple[str, bool, str]:
    encoding = sent.get("content-encoding", "") if point.gzip else ""
    return (point.path, point.json, encoding)


def fetch_pages(server: Server, points: tuple[Endpoint, ...]) -> Pages:
    """Each endpoint's page as ``server`` sends it, keyed as the bare apps store pages."""
    pages: Pages = {}
    for point in points:
        status, body, as_sent = server.fetch_as_sent(point.path, point.headers)
        sent = {k.lower(): v for k, v in as_sent}
        content_type = sent.get("content-type", "")
        if status != 200 or ("json" in content_type) != point.json:
            raise RuntimeError(f"{server.name} answered {point.path} with {status} {content_type}")
        if not point.gzip and sent.get("content-encoding", "identity") != "identity":
            raise RuntimeError(f"{server.name} compressed {point.path} for a client that did not ask")
        # What the app sent, in order and as spelled: the bare app sends the very same.
        headers = tuple((k, v) for k, v in as_sent if k.lower() not in SERVER_HEADERS)
        pages[_key(point, sent)] = (body, content_type, headers)
    return pages


@attrs.frozen
class Contender:
    """A server to start for the comparison: a name and its command for a port and config."""

    name: str
    command: Callable[[int, Path], list[str]]


def _load(ctx: BenchContext, servers: list[Server], point: Endpoint) -> list[LoadResult]:
    """Warm every server, then load them in alternating rounds (drift hits all alike)."""
    return alternating(
        ctx.load,
        [(server.url(point.path), point.headers) for server in servers],
        seconds=ctx.config.page_seconds,
        warmup=ctx.config.warmup,
        rounds=ctx.config.page_rounds,
    )


def _compare(
    ctx: BenchContext, subject: Server, baseline: Server, points: tuple[Endpoint, ...], target: str
) -> tuple[Figure, ...]:
    figures = []
    for point in points:
        measured, floor = _load(ctx, [subject, baseline], point)
        problems = "; ".join(
            f"{n}: {r.errors} errors" for n, r in (("pyregistry", measured), ("bare", floor)) if r.errors
        )
        figures.append(
            Figure(
                point.label,
                measured.requests_per_second,
                baseline.name,
                floor.requests_per_second,
                "req/s",
                target,
                problems,
            )
        )
        if measured.p99_ms and floor.p99_ms:
            figures.append(
                Figure(
                    f"{point.label}, p99 latency",
                    measured.p99_ms,
                    baseline.name,
                    floor.p99_ms,
                    "ms",
                    P99_TARGET,
                )
            )
    return tuple(figures)


def _gzip_figures(points: tuple[Endpoint, ...], pages: Pages) -> tuple[tuple[Figure, ...], tuple[str, ...]]:
    """Bytes of each gzip'd page against the same page uncompressed, or why there are none."""
    figures, notes = [], []
    for point in points:
        if not point.gzip:
            continue
        plain = pages[(point.path, point.json, "")][0]
        packed = pages.get((point.path, point.json, "gzip"))
        if packed is None:
            notes.append(
                f"{point.label}: pyregistry answered without Content-Encoding: gzip (no compressed "
                "pages in this build): not measured."
            )
            continue
        figures.append(
            Figure(
                f"{point.label.replace(', Accept-Encoding: gzip', '')}, gzip'd bytes",
                len(packed[0]) / 1024,
                "uncompressed",
                len(plain) / 1024,
                "KiB",
            )
        )
    return tuple(figures), tuple(notes)


def _side_by_side(
    ctx: BenchContext, title: str, subject: Contender, baseline: Contender, method: str, target: str
) -> Section:
    corpus = ctx.large_corpus()
    config = ctx.registry_config(corpus.root, "pages")
    pages_dir = ctx.workdir / "bare-pages"
    env = {REGISTRY_CONFIG_ENV: str(config), PAGES_ENV: str(pages_dir)}
    points = endpoints(ctx)
    plain = tuple(attrs.evolve(p, gzip=False) for p in points if p.gzip)
    with contextlib.ExitStack() as stack:
        port = free_port()
        registry = stack.enter_context(
            running(subject.name, subject.command(port, config), port, ctx.log_dir, env)
        )
        pages = fetch_pages(registry, points + plain)
        save_pages(pages_dir, pages)
        port = free_port()
        bare = stack.enter_context(
            running(baseline.name, baseline.command(port, config), port, ctx.log_dir, env)
        )
        if fetch_pages(bare, points + plain) != pages:
            raise RuntimeError(f"{baseline.name} does not send pyregistry's bytes")
        # A gzip'd row is loaded only when pyregistry compresses (else it repeats a plain row).
        loaded = tuple(p for p in points if not p.gzip or (p.path, p.json, "gzip") in pages)
        figures = _compare(ctx, registry, bare, loaded, target)
    gzip_figures, notes = _gzip_figures(points, pages)
    sizes = ", ".join(
        f"{p.label.split(' (')[0]} {'JSON' if p.json else 'HTML'} "
        f"{len(pages[(p.path, p.json, '')][0]) / 1024:,.0f} KiB"
        for p in points
        if not p.gzip
    )
    rounds = max(1, ctx.config.page_rounds)
    return Section(
        title,
        method + f" Load: {ctx.load.name}, {ctx.config.warmup:g} s warm-up per "
        f"server, then {rounds} alternating rounds of {ctx.config.page_seconds / rounds:g} s on "
        f"each server (mean req/s; p99 = median of the rounds' 99th-percentile latency from "
        f"`wrk --latency`). Body sizes: {sizes}.",
        figures + gzip_figures,
        notes,
    )


def bench_wsgi_pages(ctx: BenchContext) -> Section:
    """Warm pages: `pyregistry serve --server gunicorn` (sync + pyregistry_wsgi) vs a bare WSGI app."""
    workers = ctx.config.workers
    return _side_by_side(
        ctx,
        "Warm Simple pages, WSGI: `pyregistry serve --server gunicorn` vs bare WSGI app",
        Contender(
            f"pyregistry serve --server gunicorn --workers {workers}",
            lambda port, config: pyregistry_serve_command(config, port, workers, server="gunicorn"),
        ),
        Contender(
            f"bare WSGI app, gunicorn sync x{workers} with serve's settings",
            lambda port, _: gunicorn_command(BARE_WSGI, port, workers, "sync"),
        ),
        f"`pyregistry serve --server gunicorn --workers {workers}` against a bare WSGI app returning the "
        "same bytes, under gunicorn with the settings `serve` uses (sync workers, keep-alive 5 s, no "
        "access log). "
        "Warm = the page is already rendered in both workers.",
        WSGI_TARGET,
    )


def bench_asgi_pages_uvicorn(ctx: BenchContext) -> Section:
    """Warm pages: pyregistry_asgi vs a bare ASGI app, both under `uvicorn --workers 2`."""
    workers = ctx.config.workers
    return _side_by_side(
        ctx,
        f"Warm Simple pages, ASGI: pyregistry_asgi vs bare ASGI app (uvicorn --workers {workers})",
        Contender(
            "pyregistry_asgi",
            lambda port, _: uvicorn_command("benchmarks.registry_apps:pyregistry_asgi", port, workers),
        ),
        Contender(
            f"bare ASGI app, uvicorn x{workers}",
            lambda port, _: uvicorn_command("benchmarks.bare_apps:bare_asgi", port, workers),
        ),
        f"pyregistry_asgi.make_app under `uvicorn --workers {workers} --no-access-log` against a "
        "bare ASGI app returning the same bytes under the same command.",
        ASGI_TARGET,
    )


def bench_asgi_pages_gunicorn(ctx: BenchContext) -> Section:
    """Warm pages: pyregistry_asgi vs a bare ASGI app, both under gunicorn's ASGI worker."""
    workers = ctx.config.workers
    return _side_by_side(
        ctx,
        f"Warm Simple pages, ASGI: pyregistry_asgi vs bare ASGI app (gunicorn -k asgi x{workers})",
        Contender(
            "pyregistry_asgi",
            lambda port, _: gunicorn_command(
                "benchmarks.registry_apps:pyregistry_asgi()", port, workers, "asgi"
            ),
        ),
        Contender(
            f"bare ASGI app, gunicorn asgi x{workers}",
            lambda port, _: gunicorn_command("benchmarks.bare_apps:bare_asgi()", port, workers, "asgi"),
        ),
        f"pyregistry_asgi.make_app under gunicorn's native ASGI worker ({workers} workers, as "
        "BENCH.md's bare ASGI row) against a bare ASGI app returning the same bytes.",
        ASGI_TARGET,
    )
