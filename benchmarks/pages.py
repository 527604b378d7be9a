"""Warm Simple pages: req/s of pyregistry against a bare app on the same server.

Both servers run side by side (idle ones cost nothing) and each endpoint is loaded on
pyregistry, then on the bare app, so every ratio comes from the same minute.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

import attrs

from .bare_apps import PAGES_ENV, save_pages
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

__all__ = ["bench_asgi_pages_gunicorn", "bench_asgi_pages_uvicorn", "bench_wsgi_pages"]

JSON = "application/vnd.pypi.simple.v1+json"
BARE_WSGI = "benchmarks.bare_apps:bare_wsgi()"
TARGET = ">= 0.70"  # a warm page is a cached byte string: most of the bare app's rate


@attrs.frozen
class Endpoint:
    """One page to load, in one format."""

    label: str
    path: str
    json: bool

    @property
    def headers(self) -> dict[str, str]:
        """The request headers wrk sends."""
        return {"Accept": JSON} if self.json else {}


def endpoints(ctx: BenchContext) -> tuple[Endpoint, ...]:
    """The big project's page and the index, as HTML and as PEP 691 JSON."""
    files, projects = ctx.config.big_files, ctx.config.projects
    big = f"/simple/{BIG_PROJECT}/ ({files:,} files)"
    index = f"/simple/ ({projects:,} projects)"
    return (
        Endpoint(f"{big}, HTML", f"/simple/{BIG_PROJECT}/", json=False),
        Endpoint(f"{big}, JSON", f"/simple/{BIG_PROJECT}/", json=True),
        Endpoint(f"{index}, HTML", "/simple/", json=False),
        Endpoint(f"{index}, JSON", "/simple/", json=True),
    )


def _fetch_pages(server: Server, points: tuple[Endpoint, ...]) -> dict[tuple[str, bool], tuple[bytes, str]]:
    pages: dict[tuple[str, bool], tuple[bytes, str]] = {}
    for point in points:
        status, body, content_type = server.get(point.path, point.headers)
        if status != 200 or ("json" in content_type) != point.json:
            raise RuntimeError(f"{server.name} answered {point.path} with {status} {content_type}")
        pages[(point.path, point.json)] = (body, content_type)
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
        seconds=ctx.config.seconds,
        warmup=ctx.config.warmup,
        rounds=ctx.config.rounds,
    )


def _compare(
    ctx: BenchContext, subject: Server, baselines: list[Server], points: tuple[Endpoint, ...]
) -> tuple[Figure, ...]:
    figures = []
    for point in points:
        measured, *floors = _load(ctx, [subject, *baselines], point)
        for baseline, floor in zip(baselines, floors, strict=True):
            problems = [
                f"{n}: {r.errors} errors" for n, r in (("pyregistry", measured), ("bare", floor)) if r.errors
            ]
            figures.append(
                Figure(
                    point.label,
                    measured.requests_per_second,
                    baseline.name,
                    floor.requests_per_second,
                    "req/s",
                    TARGET,
                    "; ".join(problems),
                )
            )
    return tuple(figures)


def _side_by_side(
    ctx: BenchContext, title: str, subject: Contender, baselines: tuple[Contender, ...], method: str
) -> Section:
    corpus = ctx.large_corpus()
    config = ctx.registry_config(corpus.root, "pages")
    pages_dir = ctx.workdir / "bare-pages"
    env = {REGISTRY_CONFIG_ENV: str(config), PAGES_ENV: str(pages_dir)}
    points = endpoints(ctx)
    with contextlib.ExitStack() as stack:
        port = free_port()
        registry = stack.enter_context(
            running(subject.name, subject.command(port, config), port, ctx.log_dir, env)
        )
        pages = _fetch_pages(registry, points)
        save_pages(pages_dir, pages)
        started = []
        for baseline in baselines:
            port = free_port()
            server = stack.enter_context(
                running(baseline.name, baseline.command(port, config), port, ctx.log_dir, env)
            )
            if _fetch_pages(server, points) != pages:
                raise RuntimeError(f"{baseline.name} does not send pyregistry's bytes")
            started.append(server)
        figures = _compare(ctx, registry, started, points)
    sizes = ", ".join(
        f"{p.label.split(' (')[0]} {'JSON' if p.json else 'HTML'} "
        f"{len(pages[(p.path, p.json)][0]) / 1024:,.0f} KiB"
        for p in points
    )
    rounds = max(1, ctx.config.rounds)
    return Section(
        title,
        method + f" Load: {ctx.load.name}, {ctx.config.warmup:g} s warm-up per "
        f"server, then {rounds} alternating rounds of {ctx.config.seconds / rounds:g} s on "
        f"each server (mean req/s). Body sizes: {sizes}.",
        figures,
    )


def bench_wsgi_pages(ctx: BenchContext) -> Section:
    """Warm pages: `pyregistry serve` (gunicorn sync + pyregistry_wsgi) vs a bare WSGI app."""
    workers = ctx.config.workers
    return _side_by_side(
        ctx,
        "Warm Simple pages, WSGI: `pyregistry serve` vs bare WSGI app",
        Contender(
            f"pyregistry serve --workers {workers}",
            lambda port, config: pyregistry_serve_command(config, port, workers),
        ),
        (
            Contender(
                f"bare WSGI app, gunicorn sync x{workers} with serve's settings",
                lambda port, _: gunicorn_command(BARE_WSGI, port, workers, "sync"),
            ),
            Contender(
                f"bare WSGI app, gunicorn sync x{workers}, gunicorn defaults",
                lambda port, _: gunicorn_command(BARE_WSGI, port, workers, "sync", serve_settings=False),
            ),
        ),
        f"`pyregistry serve --workers {workers}` against a bare WSGI app returning the same bytes, "
        "under gunicorn with the settings `serve` uses (sync workers, keep-alive 5 s, no access log) and "
        "under gunicorn's defaults (as BENCH.md's bare row). Warm = the page is already rendered "
        "in both workers.",
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
        (
            Contender(
                f"bare ASGI app, uvicorn x{workers}",
                lambda port, _: uvicorn_command("benchmarks.bare_apps:bare_asgi", port, workers),
            ),
        ),
        f"pyregistry_asgi.make_app under `uvicorn --workers {workers} --no-access-log` against a "
        "bare ASGI app returning the same bytes under the same command.",
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
        (
            Contender(
                f"bare ASGI app, gunicorn asgi x{workers}",
                lambda port, _: gunicorn_command("benchmarks.bare_apps:bare_asgi()", port, workers, "asgi"),
            ),
        ),
        f"pyregistry_asgi.make_app under gunicorn's native ASGI worker ({workers} workers, as "
        "BENCH.md's bare ASGI row) against a bare ASGI app returning the same bytes.",
    )
