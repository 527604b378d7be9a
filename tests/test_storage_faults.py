"""Storage faults seen through the HTTP layer: a full disk, failed or half-done writes, a
timeout after a write committed, S3 errors and throttling, stale listings.

RELIABILITY.md promises 4, 6 and 10: publishing is atomic (nothing partial is ever
listed), a storage error is a 503 with Retry-After (never a 500, never a 404 that sends
clients upstream), and an upload that failed succeeds when retried once the fault is
gone. Faults come from ``faulty_fs``: the store's own fsspec filesystem is wrapped, so
errors take the same path through the store as a real backend's.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest
from distfiles import core_metadata
from faulty_fs import FaultyFileSystem, FaultyStorage, enospc, s3_slow_down, timeout_after_commit
from registry_http import body_bytes, listed, make_wheel, send, sha256, text, upload
from s3_server import Bucket

from pyregistry_core import Registry, Settings
from pyregistry_core.storage import LocalStorage
from pyregistry_core.storage.fsck import find_orphans

UNAVAILABLE = "Storage is temporarily unavailable; try again.\n"
UPSTREAM = "http://upstream.invalid/simple/"  # redirect mode needs one; never contacted
# Writes of one wheel upload, in order: its metadata, its bytes, its record.
WRITES = {1: "metadata", 2: "bytes", 3: "record"}


def _config(**extra: str) -> dict[str, str]:
    return {"pypi.default_write": "everyone", "pypi.index_ttl": "60", **extra}


@pytest.fixture(params=["memory", "s3"])
def open_registry(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Callable[..., tuple[Registry, FaultyFileSystem]]:
    """Opens registries on one store of this kind (each a replica), with a faulty filesystem."""
    if request.param == "memory":
        store: dict[str, Any] = {"storage.url": f"memory://faults-{tmp_path.name}"}
    else:
        bucket: Bucket = request.getfixturevalue("s3_bucket")
        store = bucket.url_config(shared_session=True)

    def open_one(**extra: str) -> tuple[Registry, FaultyFileSystem]:
        # A new store's first read writes its project list: not one of the writes counted.
        Registry.from_config({**store, **_config(**extra)}).project_names()
        registry = Registry.from_config({**store, **_config(**extra)})
        faulty = FaultyFileSystem(registry.storage.fs)  # type: ignore[attr-defined]
        registry.storage.fs = faulty  # type: ignore[attr-defined]
        return registry, faulty

    return open_one


def assert_unavailable(response: Any) -> None:
    """503 with Retry-After and the one message: the client should retry later."""
    assert (response.status, text(response)) == (503, UNAVAILABLE)
    assert response.header("Retry-After") == "5"


def assert_published_once(registry: Registry, dist: Any) -> None:
    """The file is listed once with its hash, and downloads as the uploaded bytes."""
    assert listed(registry, "demo") == {dist.filename: dist.sha256}
    download = send(registry, "GET", f"/files/demo/{dist.sha256}/{dist.filename}")
    assert download.status == 200
    assert sha256(body_bytes(download)) == dist.sha256
    metadata = send(registry, "GET", f"/files/demo/{dist.sha256}/{dist.filename}.metadata")
    assert (metadata.status, body_bytes(metadata)) == (200, core_metadata("demo", "1.0"))


# -- a write fails ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("write", "when"),
    [(1, "before"), (2, "before"), (3, "before"), (2, "partial")],
    ids=["metadata", "bytes", "record", "half-written-bytes"],
)
def test_failed_write_is_503_and_publishes_nothing(open_registry, write: int, when: str):
    """Disk full (ENOSPC) on any write of an upload, or a write that left half an object
    behind, answers 503 + Retry-After; nothing is listed; the same upload retried after the
    fault clears is stored whole."""
    registry, faulty = open_registry()
    dist = make_wheel("demo", "1.0")
    faulty.fail_write(write, enospc(), when=when)
    assert_unavailable(upload(registry, dist))
    assert faulty.failed
    assert faulty.failed[0].startswith(("pipe_file", "put_file", "copy_object"))
    assert listed(registry, "demo") == {}
    assert send(registry, "GET", f"/files/demo/{dist.sha256}/{dist.filename}").status == 404
    assert listed(open_registry()[0], "demo") == {}  # nor on another replica
    response = upload(registry, dist)
    assert (response.status, text(response)) == (200, "OK\n")
    assert_published_once(registry, dist)


def test_timeout_after_the_record_committed_then_retry_is_200(open_registry):
    """A timeout raised after the record write committed answers 503; twine's retry finds
    the file stored, compares hashes and answers 200, and other bytes are still refused."""
    registry, faulty = open_registry()
    dist = make_wheel("demo", "1.0")
    faulty.fail_write(3, timeout_after_commit(), when="after")
    assert_unavailable(upload(registry, dist))
    response = upload(registry, dist)
    assert (response.status, text(response)) == (200, "OK (identical file already stored)\n")
    other = upload(registry, make_wheel("demo", "1.0", salt="other bytes"))
    assert other.status == 400
    assert text(other).startswith("File already exists")
    assert_published_once(registry, dist)


def test_timeout_after_the_record_committed_seen_by_another_replica(open_registry):
    """The write that timed out took the filename: another replica serves the file by
    name, and a retry sent to that replica is the harmless 200 and lists it (the
    project's manifest, which the crash left behind the record, is repaired)."""
    registry, faulty = open_registry()
    dist = make_wheel("demo", "1.0")
    faulty.fail_write(3, timeout_after_commit(), when="after")
    assert_unavailable(upload(registry, dist))
    other, _ = open_registry()
    download = send(other, "GET", f"/files/demo/{dist.sha256}/{dist.filename}")
    assert (download.status, sha256(body_bytes(download))) == (200, dist.sha256)
    response = upload(other, dist)
    assert (response.status, text(response)) == (200, "OK (identical file already stored)\n")
    assert listed(other, "demo") == {dist.filename: dist.sha256}


# -- the store fails every call ------------------------------------------------------------

ERRORS: dict[str, Callable[[], BaseException]] = {
    "slow-down": s3_slow_down,
    "timeout": timeout_after_commit,
    "access-denied": lambda: PermissionError(errno.EACCES, "Access Denied"),
    # What s3fs lets through untranslated when the endpoint cannot be reached.
    "endpoint-unreachable": lambda: botocore.exceptions.EndpointConnectionError(
        endpoint_url="http://s3.invalid/bucket"
    ),
}


@pytest.mark.parametrize("error", sorted(ERRORS))
def test_store_errors_are_503_never_500_or_404(open_registry, error: str):
    """While every storage call fails (S3 throttling, timeouts, access denied, endpoint
    down), every endpoint answers 503 + Retry-After: never a 500, never a 404 or a
    redirect that would send a private name to the upstream index."""
    registry, _ = open_registry()
    dist = make_wheel("demo", "1.0")
    assert upload(registry, dist).status == 200
    # A fresh replica: nothing cached, every answer needs the store.
    replica, faulty = open_registry(**{"pypi.fallback": "redirect", "pypi.fallback_base_url": UPSTREAM})
    faulty.fail_everything(ERRORS[error]())
    paths = [
        "/simple/demo/",
        "/simple/",
        f"/files/demo/{dist.sha256}/{dist.filename}",
        f"/files/demo/{dist.sha256}/{dist.filename}.metadata",
        "/pypi/demo/json",
        "/health",
    ]
    answers = {path: send(replica, "GET", path).status for path in paths}
    answers["upload"] = upload(replica, make_wheel("demo", "2.0")).status
    assert answers == dict.fromkeys([*paths, "upload"], 503)
    assert_unavailable(send(replica, "GET", "/simple/demo/"))
    faulty.heal()
    assert listed(replica, "demo") == {dist.filename: dist.sha256}


def test_throttled_writes_only(open_registry):
    """Reads work while writes are throttled: pages still serve, uploads get 503 and
    succeed once the throttling stops."""
    registry, faulty = open_registry()
    first = make_wheel("demo", "1.0")
    assert upload(registry, first).status == 200
    faulty.fail_everything(s3_slow_down(), writes_only=True)
    second = make_wheel("demo", "2.0")
    assert_unavailable(upload(registry, second))
    assert listed(registry, "demo") == {first.filename: first.sha256}
    faulty.heal()
    assert upload(registry, second).status == 200
    assert listed(registry, "demo") == {first.filename: first.sha256, second.filename: second.sha256}


# -- stale listings --------------------------------------------------------------------------


def test_stale_listing_never_lets_a_second_file_take_a_name(open_registry):
    """A replica whose listings are stale (a listing cache) still cannot publish other
    bytes under a filename another replica took: the create-only write decides. (Pages
    read the project's manifest, never a listing, so its view is current anyway.)"""
    first, _ = open_registry()
    second, faulty = open_registry(**{"pypi.index_ttl": "0"})
    assert listed(second, "demo") == {}
    faulty.freeze_listings()
    dist = make_wheel("demo", "1.0")
    assert upload(first, dist).status == 200
    assert listed(second, "demo") == {dist.filename: dist.sha256}  # no listing involved
    conflict = upload(second, make_wheel("demo", "1.0", salt="other bytes"))
    assert conflict.status == 400
    assert text(conflict).startswith("File already exists")
    same = upload(second, dist)
    assert (same.status, text(same)) == (200, "OK (identical file already stored)\n")
    faulty.heal()
    assert listed(second, "demo") == {dist.filename: dist.sha256}


# -- a full local disk ---------------------------------------------------------------------


@pytest.fixture
def local_registry(tmp_path: Path) -> Callable[[], tuple[Registry, FaultyStorage]]:
    """Opens registries on one local directory, with scratch files that can fill the disk."""
    root = tmp_path / "packages"

    def open_one() -> tuple[Registry, FaultyStorage]:
        storage = FaultyStorage(LocalStorage(str(root)), tmp_path)
        settings = Settings.from_mapping({"storage.dir": str(root), **_config()})
        return Registry(settings, storage=storage), storage  # type: ignore[arg-type]

    return open_one


@pytest.mark.parametrize("size", [2_000, 3_000_000], ids=["fails-at-close", "fails-at-write"])
def test_disk_full_while_receiving_an_upload(local_registry, tmp_path: Path, size: int):
    """A disk that fills while the upload's bytes are received (at write, or at close when
    buffered) answers 503 + Retry-After, lists nothing, leaves no scratch file, and the
    same upload succeeds once there is space again."""
    registry, storage = local_registry()
    # Random bytes do not compress: the wheel is about ``size`` bytes.
    dist = make_wheel("demo", "1.0", salt=os.urandom(size // 2).hex() if size > 2_000 else "")
    storage.full = True
    assert_unavailable(upload(registry, dist))
    assert listed(registry, "demo") == {}
    assert os.listdir(tmp_path / "packages" / ".staging") == []
    storage.full = False
    response = upload(registry, dist)
    assert (response.status, text(response)) == (200, "OK\n")
    assert listed(registry, "demo") == {dist.filename: dist.sha256}


@pytest.mark.parametrize("failing_sync", [1, 2, 3], ids=WRITES.values())
def test_local_disk_full_at_fsync(local_registry, tmp_path: Path, monkeypatch, failing_sync: int):
    """ENOSPC when a local write is synced (metadata, bytes or record) answers 503, lists
    nothing and leaves no scratch file; fsck sees only unpublished leftovers, and the
    retry publishes the file."""
    registry, _ = local_registry()
    dist = make_wheel("demo", "1.0")
    real_fsync, calls = os.fsync, []

    def fsync(fd: int) -> None:
        calls.append(fd)
        if len(calls) == failing_sync:
            raise enospc()
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    assert_unavailable(upload(registry, dist))
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert listed(registry, "demo") == {}
    assert os.listdir(tmp_path / "packages" / ".staging") == []
    storage = LocalStorage(str(tmp_path / "packages"))
    leftovers = {orphan.key for orphan in find_orphans(storage, grace=-60)}
    blob = f"files/demo/{dist.sha256}/{dist.filename}"
    assert leftovers <= {blob, blob + ".metadata"}
    response = upload(registry, dist)
    assert (response.status, text(response)) == (200, "OK\n")
    assert listed(registry, "demo") == {dist.filename: dist.sha256}
    assert list(find_orphans(storage, grace=-60)) == []
