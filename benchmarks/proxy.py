"""``pip download`` through a warm caching proxy vs straight from its upstream.

The upstream is a second `pyregistry serve` (no fallback) holding small real wheels of
distinct projects; the proxy is a `pyregistry serve` in cache mode in front of it. Once
every file went through the proxy, a download from the proxy should cost what one from
the upstream costs: it serves stored files and its stored listings, and asks the
upstream nothing until the listings age past ``pypi.upstream_ttl``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from .client import upload
from .context import BenchContext
from .corpus import Wheel, build_wheel
from .report import Figure, Section
from .servers import Server, free_port, pyregistry_serve_command, running

__all__ = ["bench_pip_proxy"]

PROJECTS = 20
_RUNS = 3  # timed downloads per index, median taken
_PAYLOAD = 16 * 1024  # bytes of random payload per wheel
_ACCESS_LOGGER = " pyregistry.access "


def _pip_env() -> dict[str, str]:
    """This environment without any pip setting, plus no config file and no prompts."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(
        {
            "PIP_CONFIG_FILE": os.devnull,
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "PIP_NO_INPUT": "1",
        }
    )
    return env


def _pip_download(index_url: str, names: list[str], dest: Path) -> float:
    """Seconds of one ``pip download --no-deps --no-cache-dir`` of ``names`` into ``dest``."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--no-cache-dir",
        "--progress-bar",
        "off",
        "--quiet",
        "--index-url",
        index_url,
        "--dest",
        str(dest),
        *names,
    ]
    began = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=_pip_env(), timeout=600, check=False)
    elapsed = time.perf_counter() - began
    got = sorted(p.name for p in dest.iterdir())
    if result.returncode != 0 or len(got) != len(names):
        raise RuntimeError(
            f"pip download from {index_url} failed ({result.returncode}, {len(got)} files):\n"
            f"{result.stdout}\n{result.stderr}"
        )
    return elapsed


def _publish(upstream: Server, wheels: list[Wheel]) -> None:
    for wheel in wheels:
        status, body = upload(
            upstream.port,
            wheel.path.name,
            wheel.path,
            name=wheel.name,
            version=wheel.version,
            sha256=wheel.sha256,
        )
        if status != 200:
            raise RuntimeError(f"upload of {wheel.path.name} to the upstream answered {status}: {body!r}")


def _access_lines(server: Server) -> int:
    """Requests the server has logged so far (it runs with ``--access-log``)."""
    with server.log.open("rb") as log:
        return sum(1 for line in log if _ACCESS_LOGGER.encode() in line)


def bench_pip_proxy(ctx: BenchContext) -> Section:
    """`pip download` of 20 projects through a warm cache-mode proxy vs from its upstream."""
    wheel_dir = ctx.scratch("proxy-wheels")
    wheels = [build_wheel(wheel_dir, f"bench-dl-{n:02d}", "1.0", _PAYLOAD) for n in range(PROJECTS)]
    names = [w.name for w in wheels]
    workers = ctx.config.workers
    upstream_config = ctx.registry_config(
        ctx.scratch("proxy-upstream"), "proxy-upstream", **{"pypi.fallback": "none"}
    )
    dest = ctx.workdir / "proxy-downloads"
    proxy_times: list[float] = []
    direct_times: list[float] = []
    with contextlib.ExitStack() as stack:
        port = free_port()
        upstream = stack.enter_context(
            running(
                "upstream: pyregistry serve",
                pyregistry_serve_command(upstream_config, port, workers, access_log=True),
                port,
                ctx.log_dir,
            )
        )
        _publish(upstream, wheels)
        proxy_config = ctx.registry_config(
            ctx.scratch("proxy-cache"),
            "proxy",
            **{
                "pypi.fallback": "cache",
                "pypi.fallback_base_url": upstream.url("/"),
                "pypi.cache_update": "everyone",
                "pypi.default_read": "everyone",
            },
        )
        port = free_port()
        proxy = stack.enter_context(
            running(
                "proxy: pyregistry serve, cache mode",
                pyregistry_serve_command(proxy_config, port, workers),
                port,
                ctx.log_dir,
            )
        )
        proxy_index, direct_index = proxy.url("/simple/"), upstream.url("/simple/")
        before = _access_lines(upstream)
        cold_proxy = _pip_download(proxy_index, names, dest)  # fills the cache
        cold_upstream_requests = _access_lines(upstream) - before
        # A second pass through the proxy: every worker has now served each project.
        _pip_download(proxy_index, names, dest)
        before = _access_lines(upstream)
        direct_times.append(_pip_download(direct_index, names, dest))
        direct_requests = _access_lines(upstream) - before
        warm_requests = 0
        for _ in range(_RUNS):
            before = _access_lines(upstream)
            proxy_times.append(_pip_download(proxy_index, names, dest))
            warm_requests += _access_lines(upstream) - before
            if len(direct_times) < _RUNS:
                direct_times.append(_pip_download(direct_index, names, dest))
    warm, direct = statistics.median(proxy_times), statistics.median(direct_times)
    return Section(
        f"`pip download` of {PROJECTS} projects: warm caching proxy vs its upstream",
        f"Upstream: `pyregistry serve --workers {workers}` (`pypi.fallback = none`) holding "
        f"{PROJECTS} wheels of distinct projects without dependencies ({_PAYLOAD // 1024} KiB "
        f"payload each), uploaded; it runs with `--access-log` to count the requests reaching "
        f"it. Proxy: `pyregistry serve --workers {workers}` with "
        "`pypi.fallback = cache` in front of it (`cache_update` and `default_read` = everyone), "
        f"warmed by two `pip download` passes. Timed: `pip download --no-deps --no-cache-dir` of "
        f"all {PROJECTS} names (no pip config, `--index-url` only), median of {_RUNS} runs per "
        "index, alternating; pip's own start-up (~0.3-0.5 s) is in both.",
        (
            Figure(
                f"pip download {PROJECTS} projects via the warm proxy",
                warm,
                "straight from the upstream",
                direct,
                "s",
            ),
            Figure(
                f"pip download {PROJECTS} projects via the cold proxy (fetch, verify, store)",
                cold_proxy,
                "straight from the upstream",
                direct,
                "s",
                note="one run",
            ),
            Figure(
                "requests reaching the upstream per warm proxy download",
                warm_requests / _RUNS,
                "requests of one download straight from it",
                direct_requests,
                "requests",
                "<= 0.0",
            ),
        ),
        notes=(
            f"The cold pass through the proxy made {cold_upstream_requests} requests to the upstream "
            "(counted in its access log).",
        ),
    )
