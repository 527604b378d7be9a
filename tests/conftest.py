"""Fixtures shared by every suite: real distributions built once per session, the S3
servers, and a cache-mode registry over a local upstream index with a wall clock the
test moves (a module defines its own ``upstream`` to hold other projects)."""

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


# --------------------------------------------------------------------------------------
# S3: moto's S3 server in a subprocess on loopback, started once per session, and a
# fresh bucket per test. Dummy credentials go in storage options, never in os.environ.

from s3_server import Bucket, S3Server  # noqa: E402


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A local S3 API server (moto) for the whole session, stopped at the end."""
    with S3Server(tmp_path_factory.mktemp("s3-server") / "s3.log") as server:
        yield server


@pytest.fixture
def s3_bucket(s3_server: S3Server) -> Bucket:
    """An empty bucket of its own for this test."""
    return s3_server.new_bucket()


# SeaweedFS ``weed mini``: a real S3 implementation, with the quirks moto lacks (a 412
# that names no condition, empty "directories" left after deletes). Started once per
# session on loopback, only when a test asks for it.

from seaweedfs_server import SeaweedServer  # noqa: E402


@pytest.fixture(scope="session")
def seaweed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedServer]:
    """SeaweedFS's S3 gateway (``weed mini``) for the whole session, stopped at the end."""
    with SeaweedServer(tmp_path_factory.mktemp("seaweedfs")) as server:
        yield server


@pytest.fixture
def seaweed_bucket(seaweed_server: SeaweedServer) -> Bucket:
    """An empty bucket of its own on SeaweedFS for this test."""
    return seaweed_server.new_bucket()


# --------------------------------------------------------------------------------------
# Cache mode: a local upstream index, a registry over it, and a clock the test moves

from pathlib import Path  # noqa: E402

from cache_mode import FakeClock, cache_registry  # noqa: E402
from upstream_app import UpstreamIndex  # noqa: E402

from pyregistry_core import Registry  # noqa: E402


@pytest.fixture
def clock() -> FakeClock:
    """The registries' wall clock."""
    return FakeClock()


@pytest.fixture
def upstream() -> Iterator[UpstreamIndex]:
    """An upstream index with ufo-core 1.0 (wheel with .metadata, and sdist; Requires-Python >=3.8)."""
    with UpstreamIndex() as index:
        index.add("ufo-core", "1.0", requires_python=">=3.8")
        yield index


@pytest.fixture
def registry(upstream: UpstreamIndex, tmp_path: Path) -> Iterator[Registry]:
    """A cache-mode registry of ``upstream`` that anyone may read and cache through."""
    with cache_registry(upstream, tmp_path / "store") as made:
        yield made
