"""Fixtures shared by every suite: real distributions built once per session."""

from __future__ import annotations

import pytest
from distbuild import DistBuilder


@pytest.fixture(scope="session")
def build_dists(tmp_path_factory: pytest.TempPathFactory) -> DistBuilder:
    """A factory building real wheel + sdist pairs, each at most once per session."""
    return DistBuilder(tmp_path_factory.mktemp("dists"))


# --------------------------------------------------------------------------------------
# Core unit tests: a clean in-memory filesystem per test, and no hypothesis deadline
# (archive-building property tests run close to the default 200 ms on a busy machine).

from collections.abc import Iterator  # noqa: E402 - this section is self-contained

from fsspec.implementations.memory import MemoryFileSystem  # noqa: E402
from hypothesis import settings as _hypothesis_settings  # noqa: E402

_hypothesis_settings.register_profile("pyregistry", deadline=None)
_hypothesis_settings.load_profile("pyregistry")


@pytest.fixture(autouse=True)
def _clear_memory_filesystem() -> Iterator[None]:
    """Every test starts and ends with fsspec's global memory:// store empty."""
    MemoryFileSystem.store.clear()
    MemoryFileSystem.pseudo_dirs[:] = [""]
    yield
    MemoryFileSystem.store.clear()
    MemoryFileSystem.pseudo_dirs[:] = [""]
