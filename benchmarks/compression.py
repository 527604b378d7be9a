"""What compressed pages do for clients: ``pip download`` and ``uv pip compile`` of a project
whose page lists 1,000 files, with pages compressed vs the same server sending them plain.

Both servers are gunicorn with ``pyregistry serve``'s settings over one storage; the
baseline's app drops ``Accept-Encoding`` from every request, so it answers every page
uncompressed and is otherwise the same code. Loopback has no bandwidth limit: these
figures are the floor of what compression saves (CPU to decompress vs bytes to move);
over a real network the saving grows with the page's transfer time.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from .client import upload
from .context import BenchContext
from .corpus import BIG_PROJECT, wheel_bytes
from .registry_apps import REGISTRY_CONFIG_ENV
from .report import Figure, Section
from .servers import Server, free_port, gunicorn_command, http_fetch, running

__all__ = ["bench_client_compression"]

_RUNS = 5  # timed runs per client and server, alternating; median taken
_LATEST = "9999.0"  # above every corpus version: the one release with real bytes
PIP_ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1"


def _clean_env() -> dict[str, str]:
    """This environment without pip/uv settings, caches or config files."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    env.update(UV_NO_CONFIG="1", UV_NO_CACHE="1")
    return env


def _timed_run(command: list[str], check: str, cwd: Path) -> float:
    """Seconds ``command`` took; it must succeed and print or produce ``check``."""
    began = time.perf_counter()
    result = subprocess.run(
        command, capture_output=True, text=True, env=_clean_env(), cwd=cwd, timeout=600, check=False
    )
    elapsed = time.perf_counter() - began
    produced = result.stdout + " ".join(p.name for p in cwd.iterdir())
    if result.returncode != 0 or check not in produced:
        raise RuntimeError(f"{command[:4]} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return elapsed


def _pip_download(server: Server, dest: Path) -> float:
    for old in dest.glob("*.whl"):
        old.unlink()
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--no-cache-dir", "--progress-bar", "off",
        "--quiet", "--index-url", server.url("/simple/"), "-d", str(dest), str(BIG_PROJECT),
    ]  # fmt: skip
    return _timed_run(command, f"bench_big-{_LATEST}-py3-none-any.whl", dest)


def _uv_compile(server: Server, workdir: Path) -> float:
    requirements = workdir / "requirements.in"
    requirements.write_text(f"{BIG_PROJECT}\n")
    uv = str(Path(sys.executable).parent / "uv")
    command = [
        uv, "pip", "compile", "--no-cache", "--no-header", "--quiet",
        "--index-url", server.url("/simple/"), str(requirements),
    ]  # fmt: skip
    return _timed_run(command, f"{BIG_PROJECT}=={_LATEST}", workdir)


def _page_bytes(server: Server, accept_encoding: str | None) -> tuple[int, str]:
    """Bytes on the wire of the big project's JSON page, and the coding they came in."""
    headers = {"Accept": PIP_ACCEPT, **({"Accept-Encoding": accept_encoding} if accept_encoding else {})}
    status, body, answer = http_fetch(server.port, f"/simple/{BIG_PROJECT}/", headers)
    if status != 200:
        raise RuntimeError(f"GET /simple/{BIG_PROJECT}/ answered {status}")
    return len(body), answer.get("content-encoding", "identity")


_ASKED = {"identity": None, "gzip": "gzip, deflate", "zstd": "gzip, deflate, zstd"}  # none, pip, uv
_APPS = {"compressed": "pyregistry_wsgi_app", "plain": "pyregistry_wsgi_uncompressed"}


def _publish_latest(server: Server) -> None:
    """Upload the one real wheel (above every version the corpus lists)."""
    wheel = wheel_bytes(str(BIG_PROJECT), _LATEST)
    status, body = upload(
        server.port, f"bench_big-{_LATEST}-py3-none-any.whl", wheel,
        name=str(BIG_PROJECT), version=_LATEST, sha256=hashlib.sha256(wheel).hexdigest(),
    )  # fmt: skip
    if status != 200:
        raise RuntimeError(f"upload answered {status}: {body!r}")


def _client_times(ctx: BenchContext, servers: dict[str, Server]) -> dict[tuple[str, str], float]:
    """Median seconds per (client, server label), runs alternating between the servers."""
    pip_dir, uv_dir = ctx.scratch("compression-pip"), ctx.scratch("compression-uv")
    for server in servers.values():  # warm-up: every worker renders and compresses once
        for _ in range(2 * ctx.config.workers):
            _pip_download(server, pip_dir)
            _uv_compile(server, uv_dir)
    times: dict[tuple[str, str], list[float]] = {}
    for _ in range(_RUNS):
        for label, server in servers.items():
            times.setdefault(("pip", label), []).append(_pip_download(server, pip_dir))
            times.setdefault(("uv", label), []).append(_uv_compile(server, uv_dir))
    return {key: statistics.median(values) for key, values in times.items()}


def bench_client_compression(ctx: BenchContext) -> Section:
    """`pip download` and `uv pip compile` of a 1,000-file project: compressed pages vs plain."""
    corpus = ctx.corpus("compression", 2, ctx.config.big_files)
    env = {REGISTRY_CONFIG_ENV: str(ctx.registry_config(corpus.root, "compression"))}
    workers = ctx.config.workers
    with contextlib.ExitStack() as stack:
        servers: dict[str, Server] = {}
        for label, factory in _APPS.items():
            port = free_port()
            command = gunicorn_command(f"benchmarks.registry_apps:{factory}()", port, workers, "sync")
            name = f"pyregistry ({label} pages)"
            servers[label] = stack.enter_context(running(name, command, port, ctx.log_dir, env))
        _publish_latest(servers["compressed"])
        sizes = {
            coding: _page_bytes(servers["compressed"], header)
            for coding, header in (
                ("identity", None),
                ("gzip", "gzip, deflate"),
                ("zstd", "gzip, deflate, zstd"),
            )
        }
        median = _client_times(ctx, servers)
    files = f"{ctx.config.big_files + 1:,}"
    plain_kb = sizes["identity"][0] / 1000
    figures = [
        Figure(f"JSON page, asked {coding}, got {answered}", size / 1000, "uncompressed", plain_kb, "kB")
        for coding, (size, answered) in sizes.items()
        if coding != "identity"
    ]
    figures += [
        Figure(
            f"pip download --no-deps {BIG_PROJECT} (page gzip'd)",
            median[("pip", "compressed")], "same, page uncompressed", median[("pip", "plain")], "s",
        ),
        Figure(
            f"uv pip compile {BIG_PROJECT} (page {sizes['zstd'][1]})",
            median[("uv", "compressed")], "same, page uncompressed", median[("uv", "plain")], "s",
        ),
    ]  # fmt: skip
    return Section(
        "Compressed pages for clients: `pip download` and `uv pip compile` of a 1,000-file project",
        f"Two gunicorn servers (`pyregistry serve`'s settings, {workers} sync workers) over one "
        f"storage holding `{BIG_PROJECT}` with {files} files (one real wheel, {_LATEST}); the "
        "baseline's app removes `Accept-Encoding` from each request so its pages go "
        "uncompressed. Timed: `pip download --no-deps --no-cache-dir` and `uv pip compile "
        f"--no-cache` (clean environment, `--index-url` only), median of {_RUNS} runs each, "
        "alternating servers, after warm-up. Loopback: no bandwidth limit, so the saving is "
        "the floor of what a real network would see.",
        tuple(figures),
    )
