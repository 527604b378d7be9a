"""Cache-mode registries over a local upstream index, for in-process tests: their config,
a wall clock the test moves, and the clean-up that closes their upstream connections."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from upstream_app import UpstreamIndex, collect_unclosed_sockets

from pyregistry_core import Registry, Settings

__all__ = ["START", "FakeClock", "cache_mode_config", "cache_registry", "release_upstream"]

START = 1_700_000_000.0


class FakeClock:
    """A wall clock that moves only when told."""

    def __init__(self, start: float = START) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds


def cache_mode_config(upstream: UpstreamIndex, store: Path, **extra: str) -> dict[str, str]:
    """Config keys of a registry on local storage ``store`` that anyone may read and cache
    through from ``upstream``; ``extra`` adds or replaces keys."""
    return {
        "storage.dir": str(store),
        "pypi.fallback": "cache",
        "pypi.fallback_base_url": upstream.url,
        "pypi.cache_update": "everyone",
        **extra,
    }


def release_upstream(registries: Iterable[Registry]) -> None:
    """Close the registries' pooled upstream connections, then collect any socket left open
    (warnings are errors, and an unclosed socket warns when it is collected)."""
    for registry in registries:
        if registry.mirror is not None:
            registry.mirror.upstream._pool.clear()  # type: ignore[attr-defined]
    collect_unclosed_sockets()


@contextmanager
def cache_registry(upstream: UpstreamIndex, store: Path) -> Iterator[Registry]:
    """A cache-mode registry of ``upstream`` that anyone may read and cache through."""
    made = Registry(Settings.from_mapping(cache_mode_config(upstream, store)))
    try:
        yield made
    finally:
        release_upstream([made])
