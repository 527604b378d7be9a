"""Authenticated vs anonymous warm pages: what HTTP Basic costs once credentials are cached.

A user's password hash is slow on purpose (argon2), so the registry verifies given
credentials once and then keeps the verdict for a minute under an HMAC of them; a warm
authenticated request should then cost one header parse and one HMAC more than an
anonymous one. Both kinds of request go to the same `pyregistry serve`, alternately.
"""

from __future__ import annotations

import base64
import secrets
import statistics
import time

from pyregistry_core.auth.authenticator import PASSWORD_CONTEXT, hash_password

from .context import BenchContext
from .corpus import BIG_PROJECT
from .load import alternating
from .report import Figure, Section
from .servers import Server, free_port, pyregistry_serve_command, running

__all__ = ["bench_auth_pages"]

TARGET = ">= 0.67"  # authenticated costs at most 1.5x an anonymous request
_USER = "bench-user"
_SMALL_PROJECT = "project-00000"
_CACHE_PRIMING = 50  # GETs per worker before any measurement, so each has the verdict


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _check(server: Server, path: str, headers: dict[str, str], expected: int) -> None:
    status, body, _ = server.get(path, headers)
    if status != expected:
        raise RuntimeError(
            f"GET {path} with headers {sorted(headers)} answered {status}, not {expected}: {body[:200]!r}"
        )


def _verify_ms(stored: str, password: str) -> float:
    """Median time of one full argon2 verification in this process."""
    samples = []
    for _ in range(5):
        began = time.perf_counter()
        if not PASSWORD_CONTEXT.verify(password, stored):
            raise RuntimeError("the benchmark user's hash does not verify")
        samples.append((time.perf_counter() - began) * 1000)
    return statistics.median(samples)


def bench_auth_pages(ctx: BenchContext) -> Section:
    """Warm project page with `Authorization: Basic` (cached credentials) vs anonymous."""
    corpus = ctx.large_corpus()
    password = secrets.token_urlsafe(16)
    stored = hash_password(password)
    config = ctx.registry_config(
        corpus.root, "auth", **{f"user.{_USER}": stored, "pypi.default_read": "everyone"}
    )
    authorization = {"Authorization": _basic(_USER, password)}
    workers = ctx.config.workers
    paths = {
        f"/simple/{_SMALL_PROJECT}/ (1 file), HTML": f"/simple/{_SMALL_PROJECT}/",
        f"/simple/{BIG_PROJECT}/ ({ctx.config.big_files:,} files), HTML": f"/simple/{BIG_PROJECT}/",
    }
    figures = []
    port = free_port()
    with running(
        f"pyregistry serve --workers {workers} (one user)",
        pyregistry_serve_command(config, port, workers),
        port,
        ctx.log_dir,
    ) as server:
        for path in paths.values():
            _check(server, path, {}, 200)
            _check(server, path, authorization, 200)
            _check(server, path, {"Authorization": _basic(_USER, password + "-wrong")}, 401)
            # Fresh connections land on any worker: after this every worker has verified
            # the credentials once and holds the verdict (and the page).
            for _ in range(_CACHE_PRIMING * workers):
                _check(server, path, authorization, 200)
        for label, path in paths.items():
            authenticated, anonymous = alternating(
                ctx.load,
                [(server.url(path), authorization), (server.url(path), {})],
                seconds=ctx.config.seconds,
                warmup=ctx.config.warmup,
                rounds=ctx.config.rounds,
            )
            problems = [
                f"{name}: {result.errors} errors"
                for name, result in (("authenticated", authenticated), ("anonymous", anonymous))
                if result.errors
            ]
            figures.append(
                Figure(
                    f"{label}, authenticated",
                    authenticated.requests_per_second,
                    "anonymous, same server",
                    anonymous.requests_per_second,
                    "req/s",
                    TARGET,
                    "; ".join(problems),
                )
            )
    rounds = max(1, ctx.config.rounds)
    return Section(
        "Authenticated vs anonymous warm pages (`pyregistry serve`)",
        f"`pyregistry serve --workers {workers}` with one config user (argon2 hash from "
        "`hash_password`) and `pypi.default_read = everyone`; the same page requested with "
        f"`Authorization: Basic` for that user and without. Before measuring, {_CACHE_PRIMING * workers} "
        "authenticated GETs per page on fresh connections put the verdict in every worker's "
        f"credential cache (60 s). Load: {ctx.load.name}, {ctx.config.warmup:g} s warm-up per kind, "
        f"then {rounds} alternating rounds of {ctx.config.seconds / rounds:g} s each (mean req/s).",
        tuple(figures),
        notes=(
            f"One argon2 verification (what an uncached request costs once per worker and minute): "
            f"{_verify_ms(stored, password):.0f} ms in this process.",
        ),
    )
