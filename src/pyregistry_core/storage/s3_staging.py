"""Uploads to S3 staged in the bucket as they arrive (``staging.py`` says why).

The file part of an upload is written to the local scratch file and, by the same
write, to ``.staging/upload-<random>`` in the bucket through s3fs's buffered writer:
one PUT for a file under one part (8 MiB), else a multipart upload whose parts go up
while the rest is still arriving, so memory stays at about two parts whatever the
file's size. ``S3Storage.publish_blob`` of the scratch file is then one server-side
``CopyObject`` from the staged object (a managed multipart copy above 5 GiB), not a
second upload; the staged object is deleted when the upload ends.

What a killed replica leaves is in the bucket: a staged object, or a multipart upload
that never completed, both under ``.staging/``. ``fsck`` reports them once they are
older than its grace period (a multipart upload's age counts from its newest part, so
a slow upload still sending is never taken for an abandoned one), and ``fsck --clean``
deletes or aborts them.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import IO, Any, Protocol

import attrs

from .base import write_errors

__all__ = ["BucketStaging", "StagingBucket", "bucket_staging"]


class StagingBucket(Protocol):
    """What staging needs of the S3 store (``s3.S3Storage``), named here so the two
    modules do not import each other."""

    PART_SIZE: int
    fs: Any
    staged_copies: dict[str, str]

    def bucket_path(self, key: str) -> str:
        """``bucket/prefix/key``."""

    def delete_blob(self, key: str) -> None:
        """Remove ``key`` (absent is fine)."""

    def staging_file(self) -> contextlib.AbstractContextManager[str]:
        """A local scratch path, removed afterwards."""


_COPY_OBJECT_LIMIT = 5 * 2**30  # S3's largest CopyObject; above it a multipart copy


class _Tee:
    """Writes each chunk to the local scratch file and to the staged object."""

    def __init__(self, local: IO[bytes], remote: Any) -> None:
        self._local = local
        self._remote = remote

    def write(self, data: bytes) -> int:
        """Both copies get ``data`` (a store failure is a 503, as every write's)."""
        self._local.write(data)
        with write_errors():
            self._remote.write(data)
        return len(data)


def _discard(remote: Any) -> None:
    """Abort the staged object's multipart upload, if one began; never commit it."""
    with contextlib.suppress(Exception):  # fsck finds an upload this could not abort
        remote.discard()
    remote.closed = True  # closing would commit what was received so far


@attrs.define
class BucketStaging:
    """An upload staged in a local scratch file and in the bucket's ``.staging/``."""

    storage: StagingBucket
    path: str
    key: str = attrs.field(factory=lambda: f".staging/upload-{uuid.uuid4().hex}")
    stored: bool = False  # the staged object holds every received byte

    @contextlib.contextmanager
    def writer(self) -> Iterator[_Tee]:
        """Write to both copies; the staged object is completed only if the block ends
        normally (invariant 1 of ``staging.py``)."""
        with write_errors():
            remote = self.storage.fs.open(
                self.storage.bucket_path(self.key), "wb", block_size=self.storage.PART_SIZE
            )
        try:
            with open(self.path, "wb") as local:
                yield _Tee(local, remote)
        except BaseException:
            _discard(remote)
            raise
        with write_errors():
            remote.close()  # one PUT, or the multipart upload's completion
        self.stored = True
        self.storage.staged_copies[self.path] = self.key

    def remove(self) -> None:
        """Delete the staged object (one request; nothing when none was stored)."""
        self.storage.staged_copies.pop(self.path, None)
        if self.stored:
            self.storage.delete_blob(self.key)


@contextlib.contextmanager
def bucket_staging(storage: StagingBucket) -> Iterator[BucketStaging]:
    """Stage an upload in this host's scratch file and in the bucket; both are removed
    when the block ends."""
    with storage.staging_file() as path:
        staged = BucketStaging(storage, path)
        try:
            yield staged
        finally:
            staged.remove()


def copy_within(storage: StagingBucket, source: str, key: str, size: int) -> None:
    """Copy ``source`` to ``key`` inside the bucket: one ``CopyObject`` up to 5 GiB."""
    with write_errors():
        if size > _COPY_OBJECT_LIMIT:
            storage.fs.copy(storage.bucket_path(source), storage.bucket_path(key))
            return
        bucket, target = storage.bucket_path(key).split("/", 1)
        origin = storage.bucket_path(source).split("/", 1)[1]
        storage.fs.call_s3(
            "copy_object", Bucket=bucket, Key=target, CopySource={"Bucket": bucket, "Key": origin}
        )
