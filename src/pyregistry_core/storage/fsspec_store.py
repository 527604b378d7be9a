"""Any fsspec filesystem; it has no change tokens, so cached views age by TTL."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import threading
import zlib
from collections.abc import Iterator
from typing import IO, Any

import fsspec

from ..names import NormalizedName
from .base import (
    NOT_MODIFIED,
    RECORD_SUFFIX,
    Document,
    NotModified,
    Token,
    checked_key,
    read_each,
    record_key,
    removed_after,
    storage_errors,
    write_errors,
)
from .scratch import PREFIX as SCRATCH_PREFIX
from .scratch import host_scratch_dir
from .staging import StagedUpload, local_staging

__all__ = ["FsspecStorage"]


class FsspecStorage:
    """Any fsspec filesystem; change tokens are not available, so views age by TTL."""

    has_change_tokens = False
    # create_record is exact within this process only (see there).
    single_writer = True
    # Where uploads are staged on this host (scratch.py); None: the user's default.
    scratch_dir: str | None = None

    def __init__(self, url: str, options: dict[str, Any] | None = None) -> None:
        self.url = url
        fs, root = fsspec.core.url_to_fs(url, **(options or {}))
        self.fs: fsspec.AbstractFileSystem = fs
        self.root = root.rstrip("/")

    def _path(self, key: str) -> str:
        return f"{self.root}/{checked_key(key)}"

    def probe(self) -> None:
        with storage_errors():
            self.fs.exists(self._path("index"))

    def probe_conditional_writes(self) -> bool:
        """A generic fsspec store offers no atomic create."""
        return False

    def index_token(self) -> Token | None:
        return None

    def project_token(self, project: NormalizedName) -> Token | None:
        return None

    def _ls(self, path: str) -> list[dict[str, Any]]:
        try:
            with storage_errors():
                entries: list[dict[str, Any]] = self.fs.ls(path, detail=True, refresh=True)
        except FileNotFoundError:
            return []
        return entries

    def list_projects(self) -> list[str]:
        return [
            e["name"].rstrip("/").rsplit("/", 1)[-1]
            for e in self._ls(self._path("index"))
            if e["type"] == "directory"
        ]

    def list_records(self, project: NormalizedName) -> dict[str, Token]:
        records: dict[str, Token] = {}
        for entry in self._ls(self._path(f"index/{project}")):
            name = entry["name"].rsplit("/", 1)[-1]
            if entry["type"] == "file" and name.endswith(RECORD_SUFFIX):
                # ETag (S3) or creation/modification time: changes when a record is rewritten.
                version = (
                    entry.get("ETag")
                    or entry.get("LastModified")
                    or entry.get("mtime")
                    or entry.get("created")
                )
                records[name[: -len(RECORD_SUFFIX)]] = (
                    int(entry.get("size") or 0),
                    zlib.crc32(str(version).encode()),
                )
        return records

    def read_record(self, project: NormalizedName, filename: str) -> bytes | None:
        try:
            with storage_errors():
                data: bytes = self.fs.cat_file(self._path(record_key(project, filename)))
                return data
        except FileNotFoundError:
            return None

    def _parent_dirs(self, path: str) -> None:
        """Filesystems with real directories need them before a write."""
        self.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)

    def read_records(self, project: NormalizedName, filenames: list[str]) -> dict[str, bytes]:
        return read_each(self, project, filenames)

    def create_record(self, project: NormalizedName, filename: str, data: bytes) -> bool:
        return self.create_blob(record_key(project, filename), data)

    def create_blob(self, key: str, data: bytes) -> bool:
        path = self._path(key)
        # A generic fsspec store offers no atomic create: the process-wide lock makes it
        # exact within this process (all a memory filesystem can have); stores shared by
        # several processes must use LocalStorage or S3Storage, which are create-only.
        with _CREATE_LOCK, write_errors():
            if self.fs.exists(path):
                return False
            self._parent_dirs(path)
            self.fs.pipe_file(path, data)
        return True

    def replace_record(self, project: NormalizedName, filename: str, data: bytes) -> None:
        self._pipe(self._path(record_key(project, filename)), data)

    def _pipe(self, path: str, data: bytes) -> None:
        """Write ``data`` whole to ``path``, overwriting what is there."""
        with write_errors():
            self._parent_dirs(path)
            self.fs.pipe_file(path, data)

    def read_document(self, key: str, etag: str | None = None) -> Document | NotModified | None:
        try:
            # Under the write lock: a generic store may show a write half done.
            with _CREATE_LOCK, storage_errors():
                data: bytes = self.fs.cat_file(self._path(key))
        except FileNotFoundError:
            return None
        # A generic store offers no conditional read: the version is the content's hash.
        version = hashlib.sha256(data).hexdigest()
        return NOT_MODIFIED if version == etag else Document(data, version)

    def write_document(self, key: str, data: bytes, etag: str | None) -> str | None:
        # As create_record: exact within this process only (see there).
        with _CREATE_LOCK:
            current = self.read_document(key)
            if (current.etag if isinstance(current, Document) else None) != etag:
                return None
            self._pipe(self._path(key), data)
        return hashlib.sha256(data).hexdigest()

    def staging_dir(self) -> str | None:
        """The directory uploads are staged in, where ``fsck`` on this host looks."""
        return self.scratch_dir if self.scratch_dir is not None else host_scratch_dir()

    def staging_file(self) -> contextlib.AbstractContextManager[str]:
        directory = self.staging_dir()
        if directory is None:
            fd, path = tempfile.mkstemp(prefix="pyregistry-upload-")
        else:
            fd, path = tempfile.mkstemp(prefix=SCRATCH_PREFIX, dir=directory)
        os.close(fd)
        return removed_after(path)

    def staging_upload(self) -> contextlib.AbstractContextManager[StagedUpload]:
        return local_staging(self)

    def publish_blob(self, local_path: str, key: str) -> None:
        with write_errors():
            self._parent_dirs(self._path(key))
            self.fs.put_file(local_path, self._path(key))

    def put_blob(self, key: str, data: bytes) -> None:
        self._pipe(self._path(key), data)

    def open_blob(self, key: str) -> IO[bytes]:
        with storage_errors():
            handle: IO[bytes] = self.fs.open(self._path(key), "rb")
            return handle

    def local_path(self, key: str) -> str | None:
        return None

    def delete_blob(self, key: str) -> None:
        with storage_errors(), contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(self._path(key))

    def incomplete_uploads(self) -> Iterator[tuple[str, str, float]]:
        return iter(())  # S3Storage has them

    def abort_upload(self, key: str, upload_id: str) -> None:
        return None

    def walk_blobs(self, prefix: str) -> Iterator[tuple[str, float]]:
        with storage_errors():
            found = self.fs.find(self._path(prefix.rstrip("/")), detail=True)
        for path, info in found.items():
            if info.get("type") == "directory":
                continue  # SeaweedFS lists a prefix whose last object was deleted
            modified = info.get("LastModified") or info.get("mtime") or info.get("created") or 0
            stamp = modified.timestamp() if hasattr(modified, "timestamp") else float(modified)
            yield path[len(self.root) + 1 :], stamp

    def list_blobs(self, prefix: str) -> list[str]:
        return [
            prefix + e["name"].rsplit("/", 1)[-1]
            for e in self._ls(self._path(prefix.rstrip("/")))
            if e["type"] == "file"
        ]


_CREATE_LOCK = threading.RLock()
