"""``fsck`` on real S3 servers (moto and SeaweedFS): it reports and cleans orphaned blobs,
multipart uploads that never completed and scratch files of killed uploads on this host,
leaves young ones and live files alone, and is not fooled by the empty "directories"
SeaweedFS lists after a delete."""

from __future__ import annotations

import os
import stat
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from registry_http import make_wheel, upload
from s3_server import Bucket

from pyregistry_core import Registry
from pyregistry_core.storage import S3Storage
from pyregistry_core.storage.fsck import Orphan, find_orphans, remove_orphans
from pyregistry_core.storage.scratch import host_scratch_dir

SHA = "ab" * 32
ORPHAN_KEY = f"files/demo/{SHA}/demo-0.1-py3-none-any.whl"
LATER = 7200.0  # past fsck's one-hour grace


@pytest.fixture(params=["s3_bucket", "seaweed_bucket"])
def bucket(request: pytest.FixtureRequest) -> Bucket:
    """An empty bucket on moto, then on SeaweedFS."""
    found: Bucket = request.getfixturevalue(request.param)
    return found


def _later() -> float:
    return time.time() + LATER


def _start_multipart(bucket: Bucket, key: str) -> str:
    """What a replica killed halfway through publishing a big file leaves: one part, no completion."""
    fs = bucket.fs()
    full = f"{bucket.prefix}/{key}"
    upload_id = fs.call_s3("create_multipart_upload", Bucket=bucket.name, Key=full)["UploadId"]
    fs.call_s3(
        "upload_part", Bucket=bucket.name, Key=full, UploadId=upload_id, PartNumber=1, Body=b"x" * 1024
    )
    return str(upload_id)


def _uploads(bucket: Bucket) -> list[str]:
    page = bucket.fs().call_s3("list_multipart_uploads", Bucket=bucket.name)
    return [u["Key"] for u in page.get("Uploads") or ()]


def test_fsck_reports_and_cleans_orphans_and_incomplete_uploads(bucket: Bucket, tmp_path: Path):
    """An orphaned blob and an incomplete multipart upload are reported once old enough,
    removed/aborted by clean, and a published file is left as it is."""
    registry = Registry.from_config(bucket.url_config(**{"pypi.default_write": "everyone"}))
    storage = registry.storage
    assert isinstance(storage, S3Storage)
    storage.scratch_dir = str(tmp_path)  # not the host's, where other runs' uploads may be
    dist = make_wheel("demo", "1.0")
    assert upload(registry, dist).status == 200
    storage.put_blob(ORPHAN_KEY, b"left behind")
    upload_id = _start_multipart(bucket, f"files/demo/{SHA}/big-1.0-py3-none-any.whl")
    assert list(find_orphans(storage)) == []  # young: may be an upload in progress
    orphans = sorted(find_orphans(storage, now=_later), key=lambda o: o.key)
    big = f"files/demo/{SHA}/big-1.0-py3-none-any.whl"
    assert orphans == [
        Orphan(big, "multipart upload that never completed", upload_id),
        Orphan(ORPHAN_KEY, "no live record publishes it"),
    ]
    assert remove_orphans(storage, orphans) == 2
    assert _uploads(bucket) == []
    assert list(find_orphans(storage, now=_later)) == []  # SeaweedFS's empty prefixes are no orphans
    assert f"files/demo/{dist.sha256}/{dist.filename}" in bucket.keys("files/")


class _Delegating:
    """A store that wraps another (as an app instrumenting its storage would): every
    call goes to the wrapped store."""

    def __init__(self, storage: Any) -> None:
        self.storage = storage

    def __getattr__(self, name: str) -> Any:
        return getattr(self.storage, name)


def test_fsck_asks_the_store_what_it_can_clean_not_its_class(bucket: Bucket, tmp_path: Path):
    """fsck finds and aborts an incomplete multipart upload and a host scratch file
    through a store that wraps S3: it asks the Storage protocol, never the store's class."""
    registry = Registry.from_config(bucket.url_config())
    assert isinstance(registry.storage, S3Storage)
    registry.storage.scratch_dir = str(tmp_path)
    left = tmp_path / "upload-killed"
    left.write_bytes(b"half an upload")
    big = f"files/demo/{SHA}/big-1.0-py3-none-any.whl"
    upload_id = _start_multipart(bucket, big)
    wrapped = _Delegating(registry.storage)
    orphans = sorted(find_orphans(wrapped, now=_later), key=lambda o: o.key)
    assert orphans == [
        Orphan(str(left), "scratch file on this host of an upload that never finished", on_this_host=True),
        Orphan(big, "multipart upload that never completed", upload_id),
    ]
    assert remove_orphans(wrapped, orphans) == 2
    assert _uploads(bucket) == []
    assert not left.exists()


def test_fsck_finds_and_cleans_the_scratch_file_a_killed_upload_left_on_this_host(
    bucket: Bucket, tmp_path: Path
):
    """An upload to a remote store is staged in the host's staging directory and leaves
    nothing there once answered; a scratch file a killed process left is reported by
    fsck on that host once old, and removed by clean."""
    registry = Registry.from_config(bucket.url_config(**{"pypi.default_write": "everyone"}))
    storage = registry.storage
    assert isinstance(storage, S3Storage)
    staging = tmp_path / "staging"
    staging.mkdir(mode=0o700)
    storage.scratch_dir = str(staging)
    with storage.staging_file() as path:
        assert Path(path).parent == staging
    assert upload(registry, make_wheel("demo", "1.0")).status == 200
    assert list(staging.iterdir()) == []
    left = staging / "upload-killed"
    left.write_bytes(b"half an upload")
    assert list(find_orphans(storage)) == []  # young: an upload may be in progress
    orphans = list(find_orphans(storage, now=_later))
    assert orphans == [
        Orphan(str(left), "scratch file on this host of an upload that never finished", on_this_host=True)
    ]
    assert remove_orphans(storage, orphans) == 1
    assert not left.exists()


def test_the_host_staging_directory_is_used_only_when_it_is_ours(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    """The per-user staging directory is made 0700; one others may write to, or a
    symlink in its place, is refused (uploads then stage as before, unnamed for fsck)."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    made = host_scratch_dir()
    assert made == str(tmp_path / f"pyregistry-staging-{os.getuid()}")
    assert stat.S_IMODE(os.stat(made).st_mode) == 0o700
    os.chmod(made, 0o777)  # noqa: S103 - the unsafe directory under test
    assert host_scratch_dir() is None
    os.rmdir(made)
    (tmp_path / "elsewhere").mkdir(mode=0o700)
    os.symlink(tmp_path / "elsewhere", made)
    assert host_scratch_dir() is None
