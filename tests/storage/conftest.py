"""Fixtures of the storage contract suite: one ``storage`` fixture per kind of store.

Every test of ``test_storage_contract.py`` runs against each entry of ``STORES``; a new
backend (S3 against a local S3 API server, say) is one more entry there. ``reopen``
gives a second, independent handle on the same store, as another process would have.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fsspec.implementations.memory import MemoryFileSystem

from pyregistry_core.storage import FsspecStorage, LocalStorage, Storage

# kind → (how to build the store's URL or path from a fresh tmp dir, how to open it)
StoreFactory = Callable[[Path], Callable[[], Storage]]


def _memory(tmp_path: Path) -> Callable[[], Storage]:
    url = f"memory://contract-{uuid.uuid4().hex}"
    return lambda: FsspecStorage(url)


def _local(tmp_path: Path) -> Callable[[], Storage]:
    root = str(tmp_path / "store")
    return lambda: LocalStorage(root)


def _fsspec_local(tmp_path: Path) -> Callable[[], Storage]:
    root = tmp_path / "fsspec-store"
    root.mkdir()
    # fsspec's local filesystem does not create parent directories unless asked; see
    # test_fsspec_storage_creates_parent_directories for the store without the option.
    return lambda: FsspecStorage(f"file://{root}", {"auto_mkdir": True})


STORES: dict[str, StoreFactory] = {
    "memory": _memory,
    "local": _local,
    "fsspec-local": _fsspec_local,
}


@pytest.fixture(autouse=True)
def _clear_memory_filesystem() -> Iterator[None]:
    """fsspec's memory filesystem is process-global: every test starts empty."""
    MemoryFileSystem.store.clear()
    MemoryFileSystem.pseudo_dirs[:] = [""]
    yield
    MemoryFileSystem.store.clear()
    MemoryFileSystem.pseudo_dirs[:] = [""]


@pytest.fixture(params=sorted(STORES))
def store_kind(request: pytest.FixtureRequest) -> str:
    """The kind of store under test."""
    return str(request.param)


@pytest.fixture
def reopen(store_kind: str, tmp_path: Path) -> Callable[[], Storage]:
    """Open another independent handle on this test's store."""
    return STORES[store_kind](tmp_path)


@pytest.fixture
def storage(reopen: Callable[[], Storage]) -> Storage:
    """This test's store, empty."""
    return reopen()
