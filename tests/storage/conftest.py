"""Fixtures of the storage contract suite: one ``storage`` fixture per kind of store.

Every test of ``test_storage_contract.py`` runs against each entry of ``STORES``; a new
backend is one more entry there ("s3" runs against moto's S3 server, "s3-seaweedfs"
against SeaweedFS, a fresh bucket per test). ``reopen`` gives a second, independent
handle on the same store, as another process would have.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from pyregistry_core.storage import FsspecStorage, LocalStorage, S3Storage, Storage

# kind → (how to build the store's URL or path from a fresh tmp dir and the test's
# fixtures, how to open it)
StoreFactory = Callable[[Path, pytest.FixtureRequest], Callable[[], Storage]]


def _memory(tmp_path: Path, request: pytest.FixtureRequest) -> Callable[[], Storage]:
    url = f"memory://contract-{uuid.uuid4().hex}"
    return lambda: FsspecStorage(url)


def _local(tmp_path: Path, request: pytest.FixtureRequest) -> Callable[[], Storage]:
    root = str(tmp_path / "store")
    return lambda: LocalStorage(root)


def _fsspec_local(tmp_path: Path, request: pytest.FixtureRequest) -> Callable[[], Storage]:
    root = tmp_path / "fsspec-store"
    root.mkdir()
    # fsspec's local filesystem does not create parent directories unless asked; see
    # test_fsspec_storage_creates_parent_directories for the store without the option.
    return lambda: FsspecStorage(f"file://{root}", {"auto_mkdir": True})


def _s3(tmp_path: Path, request: pytest.FixtureRequest) -> Callable[[], Storage]:
    bucket = request.getfixturevalue("s3_bucket")
    # Each call is a new S3Storage with its own s3fs instance, as another replica has.
    return lambda: S3Storage(bucket.url, bucket.storage_options())


def _seaweedfs(tmp_path: Path, request: pytest.FixtureRequest) -> Callable[[], Storage]:
    bucket = request.getfixturevalue("seaweed_bucket")
    return lambda: S3Storage(bucket.url, bucket.storage_options())


STORES: dict[str, StoreFactory] = {
    "memory": _memory,
    "local": _local,
    "fsspec-local": _fsspec_local,
    "s3": _s3,
    "s3-seaweedfs": _seaweedfs,
}


# fsspec's memory store is cleared around every test by tests/conftest.py.


@pytest.fixture(params=sorted(STORES))
def store_kind(request: pytest.FixtureRequest) -> str:
    """The kind of store under test."""
    return str(request.param)


@pytest.fixture
def reopen(store_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Callable[[], Storage]:
    """Open another independent handle on this test's store."""
    return STORES[store_kind](tmp_path, request)


@pytest.fixture
def storage(reopen: Callable[[], Storage]) -> Storage:
    """This test's store, empty."""
    return reopen()
