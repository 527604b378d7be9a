"""``fsck`` on real S3 servers (moto and SeaweedFS): it reports and cleans orphaned blobs
and multipart uploads that never completed, leaves young ones and live files alone, and
is not fooled by the empty "directories" SeaweedFS lists after a delete."""

from __future__ import annotations

import time

import pytest
from registry_http import make_wheel, upload
from s3_server import Bucket

from pyregistry_core import Registry
from pyregistry_core.storage import S3Storage
from pyregistry_core.storage.fsck import Orphan, find_orphans, remove_orphans

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


def test_fsck_reports_and_cleans_orphans_and_incomplete_uploads(bucket: Bucket):
    """An orphaned blob and an incomplete multipart upload are reported once old enough,
    removed/aborted by clean, and a published file is left as it is."""
    registry = Registry.from_config(bucket.url_config(**{"pypi.default_write": "everyone"}))
    storage = registry.storage
    assert isinstance(storage, S3Storage)
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
