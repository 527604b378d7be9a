"""Multipart uploads on S3 that never completed: invisible to listings, yet billed.

A replica that dies while publishing a large file (``put_file`` in 8 MiB parts) leaves
an incomplete multipart upload under the store's prefix. ``fsck`` reports those older
than its grace period and ``fsck --clean`` aborts them; an S3 lifecycle rule
(``AbortIncompleteMultipartUpload``, docs/deployment.md) does the same on AWS.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from .base import storage_errors

__all__ = ["Bucket", "abort_upload", "incomplete_uploads"]


class Bucket(Protocol):
    """What these functions need of ``S3Storage``: its ``bucket/prefix`` and its s3fs."""

    root: str

    @property
    def fs(self) -> Any:
        """The s3fs filesystem (``call_s3`` sends one S3 API call)."""


def _bucket_and_prefix(storage: Bucket) -> tuple[str, str]:
    bucket, _, prefix = storage.root.partition("/")
    return bucket, f"{prefix}/" if prefix else ""


def _last_activity(storage: Bucket, bucket: str, key: str, upload_id: str, initiated: float) -> float:
    """When the upload last did anything: its newest part, else its start (an upload
    still sending parts is in progress however long ago it began; moto also dates
    every upload's start in 2010)."""
    with storage_errors():
        parts = storage.fs.call_s3("list_parts", Bucket=bucket, Key=key, UploadId=upload_id)
    return float(max([initiated, *(part["LastModified"].timestamp() for part in parts.get("Parts") or ())]))


def incomplete_uploads(storage: Bucket) -> Iterator[tuple[str, str, float]]:
    """(key below the store's root, upload id, last activity) of each incomplete
    multipart upload."""
    bucket, prefix = _bucket_and_prefix(storage)
    markers: dict[str, str] = {}
    while True:
        with storage_errors():
            page = storage.fs.call_s3("list_multipart_uploads", Bucket=bucket, Prefix=prefix, **markers)
        for upload in page.get("Uploads") or ():
            key, upload_id = upload["Key"], upload["UploadId"]
            active = _last_activity(storage, bucket, key, upload_id, upload["Initiated"].timestamp())
            yield key[len(prefix) :], upload_id, active
        if not page.get("IsTruncated"):
            return
        markers = {"KeyMarker": page["NextKeyMarker"], "UploadIdMarker": page["NextUploadIdMarker"]}


def abort_upload(storage: Bucket, key: str, upload_id: str) -> None:
    """Abort one incomplete multipart upload (its parts are freed)."""
    bucket, prefix = _bucket_and_prefix(storage)
    with storage_errors():
        storage.fs.call_s3("abort_multipart_upload", Bucket=bucket, Key=prefix + key, UploadId=upload_id)
