"""``python -m benchmarks [NAME...]``: run benchmarks, print them, write RESULTS.md."""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import os
import platform
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from .auth import bench_auth_pages
from .cold import bench_cold_http, bench_cold_in_process, bench_cold_render
from .compression import bench_client_compression
from .contention import bench_pages_under_contention
from .context import BenchConfig, BenchContext, environ_snapshot
from .outage import bench_upstream_outage
from .pages import bench_asgi_pages_gunicorn, bench_asgi_pages_uvicorn, bench_wsgi_pages
from .proxy import bench_pip_proxy
from .replicas import bench_s3_replicas
from .report import Section, render_markdown, render_text
from .s3_pages import bench_s3_pages, bench_seaweedfs_pages
from .server_choice import bench_server_choice
from .startup import bench_startup
from .upload import bench_upload_rss

BENCHMARKS: tuple[Callable[[BenchContext], Section], ...] = (
    bench_wsgi_pages,
    bench_asgi_pages_uvicorn,
    bench_asgi_pages_gunicorn,
    bench_pages_under_contention,
    bench_server_choice,
    bench_cold_in_process,
    bench_cold_render,
    bench_client_compression,
    bench_cold_http,
    bench_startup,
    bench_upload_rss,
    bench_auth_pages,
    bench_pip_proxy,
    bench_upstream_outage,
    bench_s3_pages,
    bench_seaweedfs_pages,
    bench_s3_replicas,
)
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def _machine() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    versions = ", ".join(f"{name} {importlib.metadata.version(name)}" for name in ("gunicorn", "uvicorn"))
    return (
        f"{os.cpu_count()} CPUs ({model or platform.machine()}){memory}; "
        f"{platform.system()} {platform.release()}; Python {platform.python_version()}; {versions}"
    )


def _load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument(
        "--output", type=Path, help=f"Markdown results file (default: {RESULTS.name} when all run)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmarks; 1 when one of them failed."""
    args = _parser().parse_args(argv)
    known = {bench.__name__: bench for bench in BENCHMARKS}
    if args.list:
        for bench in BENCHMARKS:
            print(f"{bench.__name__:28} {(bench.__doc__ or '').strip()}")
        return 0
    unknown = [name for name in args.names if name not in known]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; see --list", file=sys.stderr)
        return 2
    chosen = [known[name] for name in args.names] or list(BENCHMARKS)
    config = BenchConfig.from_environ(os.environ)
    workdir = Path(tempfile.mkdtemp(prefix="pyregistry-bench-"))
    began = time.perf_counter()
    try:
        ctx = BenchContext(config, workdir)
        now = datetime.datetime.now(datetime.timezone.utc)
        header = [
            f"Run {now:%Y-%m-%d %H:%M UTC} on {_machine()}.",
            f"{ctx.load_note}; settings: {config!r}"
            + (f"; environment: {environ_snapshot()}" if environ_snapshot() else ""),
            f"Load average at start (other processes share the cores): {_load_average()}. "
            "Absolute figures drift between runs (the load generator shares the cores); "
            "compare the ratios, each against a baseline measured in the same run.",
        ]
        print("\n".join(header), flush=True)
        sections, failures = [], []
        for bench in chosen:
            print(f"\n-- {bench.__name__}: {(bench.__doc__ or '').strip()}", flush=True)
            try:
                section = bench(ctx)
            except Exception:
                traceback.print_exc()
                failures.append(bench.__name__)
                continue
            sections.append(section)
            print(render_text(section), flush=True)
        elapsed = time.perf_counter() - began
        header.append(f"Whole run: {elapsed:.0f} s; load average at the end: {_load_average()}.")
        print(f"\nTotal {elapsed:.0f} s." + (f" FAILED: {', '.join(failures)}" if failures else ""))
        output = args.output or (RESULTS if not args.names else None)
        if output is not None:
            body = "\n".join(render_markdown(s) for s in sections)
            failed = f"\nFailed: {', '.join(failures)} (see the console output).\n" if failures else ""
            output.write_text(
                "# Benchmark results\n\nGenerated by `python -m benchmarks` (`tox -e bench`); "
                "do not edit by hand.\n\n" + "\n\n".join(header) + "\n\n" + body + failed
            )
            print(f"Results written to {output.name}.")
        return 1 if failures else 0
    finally:
        if os.environ.get("BENCH_KEEP"):
            print(f"Scratch kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
