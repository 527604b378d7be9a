"""Startup: spawn until ``GET /health`` answers 200, at a small and a large corpus.

Nothing is scanned at startup (pages are built on first request), so 10,000 projects
should start as fast as 100; the bare WSGI app under the same gunicorn settings is the
floor of what any gunicorn app needs.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from functools import partial
from pathlib import Path

from .bare_apps import PAGES_ENV, save_pages
from .context import BenchContext
from .report import Figure, Section
from .servers import free_port, gunicorn_command, pyregistry_serve_command, start

__all__ = ["bench_startup"]


def _serve(config: Path, workers: int, port: int) -> list[str]:
    return pyregistry_serve_command(config, port, workers)


def _startup_seconds(
    ctx: BenchContext, name: str, command: Callable[[int], list[str]], env: dict[str, str]
) -> float:
    port = free_port()
    server = start(name, command(port), port, ctx.log_dir, env)
    server.stop()
    return server.startup_seconds


def bench_startup(ctx: BenchContext) -> Section:
    """`pyregistry serve` startup at 10,000 vs 100 projects, and vs a bare gunicorn app."""
    small = ctx.corpus("small", ctx.config.small_projects, 10)
    large = ctx.large_corpus()
    pages = ctx.scratch("startup-pages")
    save_pages(pages, {})
    workers = ctx.config.workers
    contenders: dict[str, Callable[[int], list[str]]] = {
        "bare": lambda port: gunicorn_command("benchmarks.bare_apps:bare_wsgi()", port, workers, "sync"),
    }
    for label, corpus in (("small", small), ("large", large)):
        config = ctx.registry_config(corpus.root, f"startup-{label}")
        contenders[label] = partial(_serve, config, workers)
    samples: dict[str, list[float]] = {label: [] for label in contenders}
    # Interleaved starts, so a busy moment of the machine hits every kind alike.
    for _ in range(ctx.config.repeats):
        for label, command in contenders.items():
            samples[label].append(_startup_seconds(ctx, label, command, {PAGES_ENV: str(pages)}))
    bare, at_small, at_large = (statistics.median(samples[k]) for k in ("bare", "small", "large"))
    return Section(
        "Startup time (spawn until `/health` answers 200)",
        f"`pyregistry serve --workers {workers}`, median of {ctx.config.repeats} interleaved starts "
        "of each kind; `/health` lists the projects once, nothing else is read before the first "
        "page. The bare app runs under the gunicorn settings `serve` uses.",
        (
            Figure(
                f"{large.projects:,} projects",
                at_large,
                f"{small.projects:,} projects",
                at_small,
                "s",
                "<= 1.25",
                "~1 expected: nothing is scanned at startup",
            ),
            Figure(
                f"{small.projects:,} projects",
                at_small,
                "bare WSGI app, same gunicorn settings",
                bare,
                "s",
            ),
        ),
    )
