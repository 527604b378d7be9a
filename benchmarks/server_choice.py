"""Which server `pyregistry serve` should run: the same pages on each, side by side.

The per-adapter sections compare each adapter with a bare app on its own server; this
one compares the servers a deployment chooses between, in the same minutes: `pyregistry
serve --server gunicorn` (sync workers, WSGI: the default until gunicorn's ASGI worker
was measured), `pyregistry serve` as shipped (gunicorn's ASGI worker, ASGI) and
`pyregistry serve --server uvicorn` (ASGI). Baseline: gunicorn sync.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

from .context import BenchContext
from .corpus import BIG_PROJECT
from .load import alternating
from .pages import SMALL_PROJECT
from .registry_apps import REGISTRY_CONFIG_ENV
from .report import Figure, Section
from .servers import Server, free_port, pyregistry_serve_command, running

__all__ = ["bench_server_choice"]

_JSON = "application/vnd.pypi.simple.v1+json"
BASELINE = "gunicorn sync (WSGI)"


def _contenders(workers: int) -> list[tuple[str, Callable[[int, Path], list[str]]]]:
    return [
        (
            f"`pyregistry serve --server gunicorn --workers {workers}` (sync, WSGI)",
            lambda port, config: pyregistry_serve_command(config, port, workers, server="gunicorn"),
        ),
        (
            f"`pyregistry serve --workers {workers}` (gunicorn's ASGI worker; the default)",
            lambda port, config: pyregistry_serve_command(config, port, workers),
        ),
        (
            f"`pyregistry serve --server uvicorn --workers {workers}` (ASGI)",
            lambda port, config: pyregistry_serve_command(config, port, workers, server="uvicorn"),
        ),
    ]


def bench_server_choice(ctx: BenchContext) -> Section:
    """Warm pages on each server `pyregistry serve` could run, vs gunicorn sync (WSGI)."""
    workers = ctx.config.workers
    config = ctx.registry_config(ctx.large_corpus().root, "server-choice")
    env = {REGISTRY_CONFIG_ENV: str(config)}
    pages = (
        (f"/simple/{BIG_PROJECT}/ ({ctx.config.big_files:,} files), HTML", f"/simple/{BIG_PROJECT}/", {}),
        (f"/simple/{SMALL_PROJECT}/ (1 file), HTML", f"/simple/{SMALL_PROJECT}/", {}),
        (f"/simple/ ({ctx.config.projects:,} projects), JSON", "/simple/", {"Accept": _JSON}),
    )
    figures = []
    with contextlib.ExitStack() as stack:
        servers: list[Server] = []
        for name, command in _contenders(workers):
            port = free_port()
            servers.append(stack.enter_context(running(name, command(port, config), port, ctx.log_dir, env)))
        for label, path, headers in pages:
            for server in servers:
                for _ in range(5 * workers):
                    server.get(path, headers)
            baseline, *others = alternating(
                ctx.load,
                [(server.url(path), headers) for server in servers],
                seconds=ctx.config.seconds,
                warmup=ctx.config.warmup,
                rounds=ctx.config.rounds,
            )
            for server, result in zip(servers[1:], others, strict=True):
                errors = f"{result.errors} errors" if result.errors else ""
                figures.append(
                    Figure(
                        f"{label}, {server.name}",
                        result.requests_per_second,
                        BASELINE,
                        baseline.requests_per_second,
                        "req/s",
                        note=errors,
                    )
                )
                if result.p99_ms and baseline.p99_ms:
                    figures.append(
                        Figure(
                            f"{label}, {server.name}, p99 latency",
                            result.p99_ms,
                            BASELINE,
                            baseline.p99_ms,
                            "ms",
                        )
                    )
    rounds = max(1, ctx.config.rounds)
    return Section(
        "Which server: warm pages on each server `pyregistry serve` could run",
        f"The same registry configuration under `pyregistry serve --server gunicorn --workers {workers}` "
        f"(sync workers, WSGI), `pyregistry serve --workers {workers}` (gunicorn's ASGI worker, the "
        f"default) and `pyregistry serve --server uvicorn --workers {workers}`; every server running "
        "side by side, loaded in "
        f"turn: {ctx.load.name}, {ctx.config.warmup:g} s warm-up per server, then {rounds} alternating "
        f"rounds of {ctx.config.seconds / rounds:g} s (mean req/s; p99 = median of the rounds'). "
        "Baseline: gunicorn sync. Read with the section on slow uploads and a hanging upstream.",
        tuple(figures),
    )
