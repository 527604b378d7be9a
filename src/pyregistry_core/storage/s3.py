"""S3 and compatible object stores through s3fs.

Invariants: a record is published with a conditional PUT (``If-None-Match: *``), so of
racing replicas exactly one wins, and a store that ignores the condition is found at
startup; a missing bucket is a storage failure (503), never an empty index.
"""

from __future__ import annotations

import contextlib
import difflib
import inspect
import os
import uuid
from collections.abc import Iterator
from typing import IO, Any

import fsspec
from fsspec.asyn import sync

from ..errors import ConfigError, StorageUnavailable
from ..names import NormalizedName
from . import multipart
from .base import NOT_MODIFIED, Document, NotModified, record_key, storage_errors, write_errors
from .fsspec_store import FsspecStorage
from .preconditions import create_only_errors, is_precondition_failure
from .presigned_reads import PresignedReads, Unanswered
from .s3_staging import BucketStaging, bucket_staging, copy_within

__all__ = ["S3Storage"]


# fsspec's own filesystem options, which s3fs passes on.
_FSSPEC_OPTIONS = ("use_listings_cache", "listings_expiry_time", "max_paths", "skip_instance_cache")
# pypicloud's names for what s3fs calls key, secret and token (settings.s3_options).
_PYPICLOUD_NAMES = ("bucket", "prefix", "region_name", "access_key", "secret_key", "session_token")


def _check_options(options: dict[str, Any]) -> None:
    """Refuse a ``storage.*`` key that neither pyregistry nor s3fs reads (a typo would
    otherwise be dropped silently, and ``storage.endpoint_ulr`` would reach AWS)."""
    import s3fs

    known = [*inspect.signature(s3fs.S3FileSystem.__init__).parameters, *_FSSPEC_OPTIONS]
    known += [*_PYPICLOUD_NAMES, "single_writer"]
    for name in options:
        if name not in known or name in ("self", "kwargs", "loop", "asynchronous"):
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean storage.{close[0]}?)" if close else ""
            raise ConfigError(f"unknown key storage.{name}{hint}")


class S3Storage(FsspecStorage):
    """S3 (and compatible stores) through s3fs, with conditional create-only writes.

    Listing caches are off, so another replica's writes show on the next listing;
    uploads go up in 8 MiB parts and downloads are read in 1 MiB blocks, so memory
    stays flat whatever the file size (s3fs defaults to 50 MiB parts and blocks).
    """

    PART_SIZE = 8 * 2**20
    _READ_BLOCK = 2**20

    def __init__(self, url: str, options: dict[str, Any] | None = None) -> None:
        opts = dict(options or {})
        _check_options(opts)
        self.single_writer = str(opts.pop("single_writer", "false")).lower() in ("1", "true", "yes", "on")
        opts.setdefault("use_listings_cache", False)
        opts.setdefault("skip_instance_cache", True)
        opts.setdefault("default_block_size", self.PART_SIZE)
        # s3fs sends a HEAD before every small GET when this is above 1; uploads set
        # their own part concurrency.
        opts.setdefault("max_concurrency", 1)
        # Bounded retries and timeouts: a dead endpoint is a 503 in seconds, not minutes.
        opts.setdefault(
            "config_kwargs",
            {"retries": {"max_attempts": 3, "mode": "standard"}, "connect_timeout": 5, "read_timeout": 60},
        )
        # Presigned URLs (presigned_reads.py) in SigV4, as every region accepts; botocore
        # would presign in the deprecated SigV2 otherwise.
        opts["config_kwargs"] = {"signature_version": "s3v4", **opts["config_kwargs"]}
        # No super().__init__: the filesystem is made on first use, per process (``fs``).
        self.url = url
        self._fs_options = opts
        self._fs_of: tuple[int, Any] | None = None
        self.root = fsspec.get_filesystem_class("s3")._strip_protocol(url).rstrip("/")
        self.bucket = self.root.split("/", 1)[0]
        # Scratch file → its complete copy under .staging/ (s3_staging.py), while staged.
        self.staged_copies: dict[str, str] = {}
        self.presigned = PresignedReads(opts, lambda path, expires: str(self.fs.url(path, expires=expires)))

    @property
    def fs(self) -> Any:
        """This process's s3fs filesystem, made on first use: s3fs refuses to run in a
        forked child ("not fork-safe"), so a worker forked after startup (gunicorn
        ``--preload``, a WSGI server forking an app built at import) gets its own."""
        made = self._fs_of
        if made is None or made[0] != os.getpid():
            made = (os.getpid(), fsspec.filesystem("s3", **self._fs_options))
            self._fs_of = made  # two threads racing here each make one; the last is kept
        return made[1]

    @fs.setter
    def fs(self, value: Any) -> None:
        self._fs_of = (os.getpid(), value)

    def probe(self) -> None:
        with storage_errors():
            try:
                self.fs.call_s3("head_bucket", Bucket=self.bucket)
            except FileNotFoundError as exc:
                raise StorageUnavailable(f"bucket {self.bucket!r} does not exist") from exc

    def _ls(self, path: str) -> list[dict[str, Any]]:
        entries = super()._ls(path)
        if not entries:
            self.probe()  # an empty answer from a missing bucket must not read as "no files"
        return entries

    def read_records(self, project: NormalizedName, filenames: list[str]) -> dict[str, bytes]:
        """Concurrent GETs (a cold 1,000-file project was 2,000 requests one after another)."""
        if not filenames:
            return {}
        paths = {self._path(record_key(project, name)): name for name in filenames}
        with storage_errors():
            results = self.fs.cat(list(paths), on_error="return")
        found = {}
        for path, data in results.items():
            if isinstance(data, FileNotFoundError):
                continue
            if isinstance(data, BaseException):
                raise StorageUnavailable(f"storage failed: {type(data).__name__}: {data}")
            found[paths[path]] = data
        return found

    def read_record(self, project: NormalizedName, filename: str) -> bytes | None:
        data = super().read_record(project, filename)
        if data is None:
            self.probe()  # rare (records are read once listed): make sure the bucket is there
        return data

    def _parent_dirs(self, path: str) -> None:
        """Object stores have no directories to create."""

    def create_blob(self, key: str, data: bytes) -> bool:
        try:
            with write_errors():
                self._create_only(self._path(key), data)
        except FileExistsError:
            return False
        return True

    def _create_only(self, path: str, data: bytes) -> None:
        """PUT with ``If-None-Match: *``: of racing replicas exactly one succeeds; the
        others get ``FileExistsError`` whatever the store's 412 says."""
        with create_only_errors():
            self.fs.pipe_file(path, data, mode="create")

    def bucket_path(self, key: str) -> str:
        """``bucket/prefix/key``: where s3fs finds ``key``."""
        return self._path(key)

    def staging_upload(self) -> contextlib.AbstractContextManager[BucketStaging]:
        """Stage in this host's scratch file and in the bucket (``s3_staging.py``)."""
        return bucket_staging(self)

    def publish_blob(self, local_path: str, key: str) -> None:
        """A file staged in the bucket too is copied there (one request); any other
        goes up in 8 MiB parts."""
        staged = self.staged_copies.get(local_path)
        if staged is not None:
            copy_within(self, staged, key, os.path.getsize(local_path))
            return
        with write_errors():
            self.fs.put_file(local_path, self._path(key), chunksize=self.PART_SIZE, max_concurrency=2)

    def open_blob(self, key: str) -> IO[bytes]:
        with storage_errors():
            handle: IO[bytes] = self.fs.open(
                self._path(key), "rb", block_size=self._READ_BLOCK, cache_type="readahead"
            )
            return handle

    def incomplete_uploads(self) -> Iterator[tuple[str, str, float]]:
        return multipart.incomplete_uploads(self)

    def abort_upload(self, key: str, upload_id: str) -> None:
        multipart.abort_upload(self, key, upload_id)

    def probe_conditional_writes(self) -> bool:
        """Whether the store refuses a second create-only write of one key."""
        self.probe()
        key = f"{self.root}/.probe/{uuid.uuid4().hex}"  # internal scratch, never a request's key
        try:
            with storage_errors():
                self._create_only(key, b"1")
                try:
                    self._create_only(key, b"2")
                except FileExistsError:
                    return True
                return False
        finally:
            with contextlib.suppress(OSError):
                self.fs.rm_file(key)

    # -- layout v2 documents: conditional GET and PUT ------------------------------------

    async def _get_document(self, key: str, etag: str | None) -> Document | NotModified | None:
        bucket, path = self._path(key).split("/", 1)
        condition = {"IfNoneMatch": etag} if etag is not None else {}
        try:
            response = await self.fs._call_s3("get_object", Bucket=bucket, Key=path, **condition)
        except FileNotFoundError as exc:
            if _error_code(exc) == "NoSuchBucket":
                raise StorageUnavailable(f"bucket {self.bucket!r} does not exist") from exc
            return None
        except OSError as exc:
            if _status(exc) == 304:
                return NOT_MODIFIED
            raise
        async with response["Body"] as body:
            data: bytes = await body.read()
        return Document(data, str(response["ETag"]))

    def read_document(self, key: str, etag: str | None = None) -> Document | NotModified | None:
        """One GET, conditional on ``etag`` (``If-None-Match``): a 304 costs no body."""
        fast = self.presigned.read(self._path(key), etag)
        if not isinstance(fast, Unanswered):
            return fast
        with storage_errors():
            result: Document | NotModified | None = sync(self.fs.loop, self._get_document, key, etag)
            return result

    def write_document(self, key: str, data: bytes, etag: str | None) -> str | None:
        """One PUT with ``If-Match: etag`` (``If-None-Match: *`` to create)."""
        condition: dict[str, Any] = {"mode": "create"} if etag is None else {"IfMatch": etag}
        try:
            with write_errors():
                response = self.fs.pipe_file(self._path(key), data, **condition)
        except (FileExistsError, StorageUnavailable) as exc:
            # 412: another writer got there first; 409: a concurrent conditional write
            # to the key is in flight (S3 asks to retry). A store that omits the
            # <Condition> element gets here as EINVAL rather than FileExistsError.
            if isinstance(exc, FileExistsError) or is_precondition_failure(exc) or _status(exc) == 409:
                return None
            raise
        return str(response["ETag"])


def _client_error(exc: BaseException) -> Any:
    """The botocore error behind an s3fs exception, if there is one."""
    seen: BaseException | None = exc
    while seen is not None:
        if getattr(seen, "response", None) is not None:
            return seen
        seen = seen.__cause__
    return None


def _status(exc: BaseException) -> int | None:
    error = _client_error(exc)
    if error is None:
        return None
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return int(status) if status is not None else None


def _error_code(exc: BaseException) -> str | None:
    error = _client_error(exc)
    return None if error is None else str(error.response.get("Error", {}).get("Code"))
