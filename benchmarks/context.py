"""What every benchmark function receives: the run's settings, scratch space, corpora.

Settings come from ``BENCH_*`` environment variables, read once when the run starts.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import attrs

from .corpus import Corpus, write_corpus
from .load import choose_load_generator

__all__ = ["BenchConfig", "BenchContext"]


def _number(environ: Mapping[str, str], key: str, default: float) -> float:
    raw = environ.get(key, "").strip()
    return float(raw) if raw else default


@attrs.frozen
class BenchConfig:
    """The knobs of a run (environment variable in brackets)."""

    seconds: float = 6.0  # load per endpoint and server [BENCH_SECONDS]
    warmup: float = 1.0  # load on each server before an endpoint is measured [BENCH_WARMUP]
    rounds: int = 3  # alternating slices BENCH_SECONDS is split into [BENCH_ROUNDS]
    # The adapter-vs-bare page sections judge ratios against a 0.90 / 0.85 line that the
    # true gap (a few per cent) sits close to, so they load twice as long, in more rounds.
    page_seconds: float = 12.0  # load per page and server there [BENCH_PAGE_SECONDS]
    page_rounds: int = 6  # alternating slices BENCH_PAGE_SECONDS is split into [BENCH_PAGE_ROUNDS]
    repeats: int = 5  # cold starts / invalidations / startups, median taken [BENCH_REPEATS]
    projects: int = 10_000  # projects in the large corpus [BENCH_PROJECTS]
    small_projects: int = 100  # projects in the small corpus (startup) [BENCH_SMALL_PROJECTS]
    big_files: int = 1_000  # files of the big project [BENCH_BIG_FILES]
    upload_mb: int = 500  # size of the uploaded wheel [BENCH_UPLOAD_MB]
    workers: int = 2  # server worker processes [BENCH_WORKERS]
    threads: int = 2  # wrk -t [BENCH_THREADS]
    connections: int = 16  # wrk -c [BENCH_CONNECTIONS]
    load: str = "auto"  # auto | wrk | python [BENCH_LOAD]

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> BenchConfig:
        """Read ``BENCH_*`` variables; unset ones keep their defaults."""
        defaults = cls()
        return cls(
            seconds=_number(environ, "BENCH_SECONDS", defaults.seconds),
            warmup=_number(environ, "BENCH_WARMUP", defaults.warmup),
            rounds=int(_number(environ, "BENCH_ROUNDS", defaults.rounds)),
            page_seconds=_number(environ, "BENCH_PAGE_SECONDS", defaults.page_seconds),
            page_rounds=int(_number(environ, "BENCH_PAGE_ROUNDS", defaults.page_rounds)),
            repeats=int(_number(environ, "BENCH_REPEATS", defaults.repeats)),
            projects=int(_number(environ, "BENCH_PROJECTS", defaults.projects)),
            small_projects=int(_number(environ, "BENCH_SMALL_PROJECTS", defaults.small_projects)),
            big_files=int(_number(environ, "BENCH_BIG_FILES", defaults.big_files)),
            upload_mb=int(_number(environ, "BENCH_UPLOAD_MB", defaults.upload_mb)),
            workers=int(_number(environ, "BENCH_WORKERS", defaults.workers)),
            threads=int(_number(environ, "BENCH_THREADS", defaults.threads)),
            connections=int(_number(environ, "BENCH_CONNECTIONS", defaults.connections)),
            load=environ.get("BENCH_LOAD", defaults.load).strip() or "auto",
        )


class BenchContext:
    """Scratch directory, load generator and lazily written corpora of one run."""

    def __init__(self, config: BenchConfig, workdir: Path) -> None:
        self.config = config
        self.workdir = workdir
        self.load, self.load_note = choose_load_generator(config.load, config.threads, config.connections)
        self.log_dir = workdir / "logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._corpora: dict[str, Corpus] = {}

    def corpus(self, label: str, projects: int, big_files: int) -> Corpus:
        """The corpus called ``label``, written on first use."""
        if label not in self._corpora:
            self._corpora[label] = write_corpus(self.workdir / "corpus" / label, projects, big_files)
        return self._corpora[label]

    def large_corpus(self) -> Corpus:
        """``config.projects`` projects, one with ``config.big_files`` files (read-only use)."""
        return self.corpus("large", self.config.projects, self.config.big_files)

    def registry_config(self, storage: Path, name: str, **extra: str) -> Path:
        """An INI file for ``pyregistry serve`` over ``storage``; anonymous uploads allowed."""
        return self.ini(
            name,
            {
                "storage.dir": str(storage),
                "pypi.default_write": "everyone",
                "pypi.simple_max_age": "0",
                **extra,
            },
        )

    def ini(self, name: str, settings: Mapping[str, str]) -> Path:
        """Write ``settings`` as the ``[pyregistry]`` section of ``<name>.ini``."""
        path = self.workdir / f"{name}.ini"
        path.write_text("[pyregistry]\n" + "".join(f"{k} = {v}\n" for k, v in settings.items()))
        return path

    def scratch(self, name: str) -> Path:
        """A fresh directory under the run's scratch space."""
        path = self.workdir / name
        path.mkdir(parents=True, exist_ok=True)
        return path


def environ_snapshot() -> dict[str, str]:
    """The ``BENCH_*`` variables set for this run (to print with the results)."""
    return {k: v for k, v in os.environ.items() if k.startswith("BENCH_")}
