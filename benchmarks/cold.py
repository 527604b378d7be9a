"""Cold Simple pages: the first request after start, and after an upload changed the data.

Cold means the page is not rendered in the process that answers: right after start
(nothing is read at startup) or right after a change (an upload to the project, or a new
project for ``/simple/``). Each cold figure is the median of ``BENCH_REPEATS`` events,
compared with the warm latency of the same page on the same kind of server.
"""

from __future__ import annotations

import gc
import hashlib
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import attrs

from pyregistry_core import Identity, Registry, render
from pyregistry_core.fragments import FileFragments
from pyregistry_core.negotiate import SimpleFormat
from pyregistry_core.records import FileRecord, ProjectFiles

from . import previous_render
from .client import upload
from .context import BenchContext
from .corpus import BIG_PROJECT, wheel_bytes
from .report import Figure, Section
from .servers import Server, free_port, pyregistry_serve_command, running, start

__all__ = ["bench_cold_http", "bench_cold_in_process", "bench_cold_render"]

_WARM_SAMPLES = 30


def _timed(action: Callable[[], object], *, collected: bool = False) -> float:
    """Milliseconds ``action`` takes; ``collected``: after a full garbage collection, so a
    collection another step made due does not land in the timed call."""
    if collected:
        gc.collect()
    began = time.perf_counter()
    action()
    return (time.perf_counter() - began) * 1000


def _get_ms(server: Server, path: str) -> float:
    began = time.perf_counter()
    status, _, _ = server.get(path)
    elapsed = (time.perf_counter() - began) * 1000
    if status != 200:
        raise RuntimeError(f"GET {path} answered {status}")
    return elapsed


def _warm_ms(server: Server, path: str) -> float:
    """Median latency of one GET (fresh connection) once every worker has the page."""
    for _ in range(10):
        _get_ms(server, path)
    return statistics.median(_get_ms(server, path) for _ in range(_WARM_SAMPLES))


def bench_cold_in_process(ctx: BenchContext) -> Section:
    """Cold vs warm `Registry.project_page` / `index_page` calls in this process."""
    corpus = ctx.large_corpus()
    anonymous = Identity()
    calls: dict[str, Callable[[Registry], object]] = {
        f"project_page({BIG_PROJECT}, {ctx.config.big_files:,} files), HTML": lambda r: r.project_page(
            anonymous, BIG_PROJECT, SimpleFormat.TEXT_HTML
        ),
        f"project_page({BIG_PROJECT}), JSON": lambda r: r.project_page(
            anonymous, BIG_PROJECT, SimpleFormat.JSON_V1
        ),
        f"index_page ({ctx.config.projects:,} projects), HTML": lambda r: r.index_page(
            anonymous, SimpleFormat.TEXT_HTML
        ),
    }
    figures = []
    for label, call in calls.items():
        cold, warm = [], []
        for _ in range(ctx.config.repeats):
            registry = Registry.from_config({"storage.dir": str(corpus.root)})
            cold.append(_timed(lambda: call(registry)))  # noqa: B023 - called at once
            warm.append(statistics.median(_timed(lambda: call(registry)) for _ in range(50)))  # noqa: B023
        figures.append(Figure(label, statistics.median(cold), "warm call", statistics.median(warm), "ms"))
    return Section(
        "Cold vs warm pages, in process",
        "A fresh `Registry` per repeat: the first call reads the project's records (or lists "
        "the projects) and renders; the warm call revalidates with one stat and returns the "
        f"cached bytes. Medians of {ctx.config.repeats} fresh registries (warm: of 50 calls each).",
        tuple(figures),
    )


def _reread(files: ProjectFiles) -> ProjectFiles:
    """The same project as after an upload elsewhere: every record read again (new
    objects, equal values) and one of them changed (yanked)."""
    records = [FileRecord.from_json(r.to_json()) for r in files.files]
    records[0] = attrs.evolve(records[0], yanked=True, yanked_reason="bench")
    return ProjectFiles.from_records(files.name, records, files.status)


def bench_cold_render(ctx: BenchContext) -> Section:
    """Rendering the big project's page once its records are read: per-file fragments vs
    the previous whole-page template renderer, cold and after a change."""
    corpus = ctx.large_corpus()
    samples: dict[str, list[tuple[float, float]]] = {}
    for _ in range(ctx.config.repeats):
        registry = Registry.from_config({"storage.dir": str(corpus.root)})
        files = registry.project_entry(BIG_PROJECT).files  # the records are read here, untimed
        changed = _reread(files)
        for fmt, new, old, kept_of in (
            ("HTML", render.project_html, previous_render.project_html, lambda k: k.anchor),
            ("JSON", render.project_json, previous_render.project_json, lambda k: k.entry),
        ):
            kept = FileFragments().project(files.name)
            cold = _timed(lambda: new(files, kept_of(kept)), collected=True)  # noqa: B023 - called at once
            after = _timed(lambda: new(changed, kept_of(kept)), collected=True)  # noqa: B023
            baseline = _timed(lambda: old(files), collected=True)  # noqa: B023
            samples.setdefault(f"{fmt}, first render", []).append((cold, baseline))
            samples.setdefault(f"{fmt}, after one file changed", []).append((after, baseline))
    label = f"{BIG_PROJECT} ({ctx.config.big_files:,} files)"
    return Section(
        "Cold page rendering, in process (records already read)",
        "A fresh `Registry` per repeat reads the big project's records (untimed); then the "
        "page is rendered from per-file fragments with nothing kept (first render), and again "
        "from the same fragments after every record was read again and one yanked (after a "
        "change). Baseline: the previous renderer (a template over the whole page, "
        f"`benchmarks/previous_render.py`) on the same records. Medians of {ctx.config.repeats}.",
        tuple(
            Figure(
                f"{label}, {what}",
                statistics.median(s for s, _ in pairs),
                "previous renderer",
                statistics.median(b for _, b in pairs),
                "ms",
                note="target: first render <= 10 ms",
            )
            for what, pairs in samples.items()
        ),
    )


def _cold_after_start(ctx: BenchContext, config_path: Path, path: str) -> float:
    """Median latency of the first GET of ``path`` after ``pyregistry serve`` is ready."""
    samples = []
    for _ in range(ctx.config.repeats):
        port = free_port()
        server = start(
            "pyregistry serve (cold)",
            pyregistry_serve_command(config_path, port, ctx.config.workers),
            port,
            ctx.log_dir,
        )
        try:
            samples.append(_get_ms(server, path))
        finally:
            server.stop()
    return statistics.median(samples)


def bench_cold_http(ctx: BenchContext) -> Section:
    """First request after start / after an upload vs warm, over HTTP to `pyregistry serve`."""
    workers = ctx.config.workers
    config = ctx.registry_config(ctx.large_corpus().root, "cold-start")
    big, index = f"/simple/{BIG_PROJECT}/", "/simple/"
    big_label = f"{big} ({ctx.config.big_files:,} files)"
    index_label = f"{index} ({ctx.config.projects:,} projects)"
    start_big = _cold_after_start(ctx, config, big)
    start_index = _cold_after_start(ctx, config, index)
    # Uploads change the data, so they go to a corpus of their own.
    mutable = ctx.corpus("mutable", ctx.config.projects, ctx.config.big_files)
    mutable_config = ctx.registry_config(mutable.root, "cold-change")
    port = free_port()
    after_upload: list[float] = []
    after_new_project: list[float] = []
    with running(
        "pyregistry serve",
        pyregistry_serve_command(mutable_config, port, workers),
        port,
        ctx.log_dir,
    ) as server:
        warm_big, warm_index = _warm_ms(server, big), _warm_ms(server, index)
        for number in range(ctx.config.repeats):
            for name, path, samples in (
                (BIG_PROJECT, big, after_upload),
                (f"bench-new-{number}", index, after_new_project),
            ):
                _warm_ms(server, path)
                version = f"9000.{number}"
                wheel = wheel_bytes(name, version)
                status, body = upload(
                    port,
                    f"{name.replace('-', '_')}-{version}-py3-none-any.whl",
                    wheel,
                    name=name,
                    version=version,
                    sha256=hashlib.sha256(wheel).hexdigest(),
                )
                if status != 200:
                    raise RuntimeError(f"upload answered {status}: {body!r}")
                samples.append(_get_ms(server, path))
    return Section(
        "Cold vs warm pages, over HTTP (`pyregistry serve`)",
        f"`pyregistry serve --workers {workers}`; latency of one GET on a fresh connection. "
        "After start: the first GET once `/health` answered 200 (the worker answering `/health` "
        "has listed the projects, nothing else is read at startup), median of "
        f"{ctx.config.repeats} server starts. After upload: the first GET after a 200 upload "
        "(to the big project; or of a new project, for `/simple/`), median of "
        f"{ctx.config.repeats}. Warm: median of {_WARM_SAMPLES} GETs of the rendered page.",
        (
            Figure(f"{big_label}, first GET after start", start_big, "warm GET", warm_big, "ms"),
            Figure(
                f"{big_label}, first GET after an upload to it",
                statistics.median(after_upload),
                "warm GET",
                warm_big,
                "ms",
            ),
            Figure(f"{index_label}, first GET after start", start_index, "warm GET", warm_index, "ms"),
            Figure(
                f"{index_label}, first GET after a new project",
                statistics.median(after_new_project),
                "warm GET",
                warm_index,
                "ms",
            ),
        ),
    )
