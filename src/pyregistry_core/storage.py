"""Storage is the database: an fsspec filesystem (or a local directory) holds everything.

Layout under the root (``NormalizedName`` projects only; filenames are validated first):

    index/<project>/<filename>.json        the file's record; creating it publishes the file
    files/<project>/<sha256>/<filename>    the bytes, content-addressed per project
    files/<project>/<sha256>/<filename>.metadata   PEP 658 core metadata (wheels)
    .staging/                              scratch space for uploads in progress

Invariants:
1. A file is visible only through its record, and a record is created only after its
   bytes are completely stored: nothing partial is ever listed.
2. Records are created create-only (``O_EXCL``/link locally): of two writers racing on
   one filename exactly one wins. A record is never removed (a deleted file keeps a
   tombstone record, so its filename stays burnt).
3. Revalidation is cheap: on a local directory a project's change token is one ``stat``
   of its index directory; object stores have no such token and rely on a TTL.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
import threading
import uuid
import zlib
from collections.abc import Iterator
from typing import IO, Any, Protocol

import fsspec

from .errors import StorageUnavailable
from .names import NormalizedName

__all__ = ["FsspecStorage", "LocalStorage", "S3Storage", "Storage", "Token", "open_storage"]

Token = tuple[int, ...]
_RECORD_SUFFIX = ".json"


class Storage(Protocol):
    """What the registry needs from a store; see the module docstring for the layout."""

    url: str
    has_change_tokens: bool

    def index_token(self) -> Token | None:
        """A value that changes whenever a project is added (None: not supported)."""

    def project_token(self, project: NormalizedName) -> Token | None:
        """A value that changes whenever a record of ``project`` changes."""

    def list_projects(self) -> list[str]:
        """Names of every project directory (each already normalized)."""

    def list_records(self, project: NormalizedName) -> dict[str, Token]:
        """Filename → change token of each record of ``project``."""

    def read_record(self, project: NormalizedName, filename: str) -> bytes | None:
        """The record's bytes, or None when there is none."""

    def read_records(self, project: NormalizedName, filenames: list[str]) -> dict[str, bytes]:
        """Several records at once (those that vanished meanwhile are left out)."""

    def create_record(self, project: NormalizedName, filename: str, data: bytes) -> bool:
        """Create a record only if none exists; False when one already did."""

    def replace_record(self, project: NormalizedName, filename: str, data: bytes) -> None:
        """Atomically replace an existing record (yank, delete)."""

    def staging_file(self) -> contextlib.AbstractContextManager[str]:
        """A local scratch path, removed afterwards, cheap to publish from."""

    def publish_blob(self, local_path: str, key: str) -> None:
        """Store a local file under ``key`` atomically; an existing key is kept."""

    def put_blob(self, key: str, data: bytes) -> None:
        """Store small bytes under ``key`` atomically."""

    def open_blob(self, key: str) -> IO[bytes]:
        """Open stored bytes for reading (raises FileNotFoundError)."""

    def local_path(self, key: str) -> str | None:
        """The blob's path on a local disk, for sendfile; None on other stores."""

    def delete_blob(self, key: str) -> None:
        """Remove stored bytes if present."""

    def list_blobs(self, prefix: str) -> list[str]:
        """Keys directly under ``prefix`` (a folder key ending in ``/``)."""

    def probe(self) -> None:
        """Raise ``StorageUnavailable`` unless the store answers (for /health)."""

    def walk_blobs(self, prefix: str) -> Iterator[tuple[str, float]]:
        """Every key below ``prefix`` with its modification time (seconds)."""


def record_key(project: NormalizedName, filename: str) -> str:
    """The storage key of a file's record."""
    return f"index/{project}/{filename}{_RECORD_SUFFIX}"


def blob_key(project: NormalizedName, sha256: str, filename: str) -> str:
    """The storage key of a file's bytes."""
    return f"files/{project}/{sha256}/{filename}"


@contextlib.contextmanager
def _storage_errors() -> Iterator[None]:
    """Turn unexpected store failures into ``StorageUnavailable`` (503, never 404).

    Any exception counts, not only ``OSError``: s3fs lets botocore's connection errors
    (``EndpointConnectionError``…) through untranslated.
    """
    try:
        yield
    except (FileNotFoundError, FileExistsError, StorageUnavailable):
        raise
    except Exception as exc:
        raise StorageUnavailable(f"storage failed: {type(exc).__name__}: {exc}") from exc


@contextlib.contextmanager
def _write_errors() -> Iterator[None]:
    """Like ``_storage_errors`` for writes, where "not found" can only mean the store
    itself is gone (a deleted bucket): that is a 503 too."""
    try:
        with _storage_errors():
            yield
    except FileNotFoundError as exc:
        raise StorageUnavailable(f"storage failed: {exc}") from exc


@contextlib.contextmanager
def _removed_after(path: str) -> Iterator[str]:
    """A scratch path, removed when the block ends (whatever happened in it)."""
    try:
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def _read_each(storage: Storage, project: NormalizedName, filenames: list[str]) -> dict[str, bytes]:
    found = {}
    for filename in filenames:
        data = storage.read_record(project, filename)
        if data is not None:
            found[filename] = data
    return found


def _stat_token(path: str) -> Token | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StorageUnavailable(f"storage failed: {exc}") from exc
    return (st.st_mtime_ns, st.st_ino, st.st_size, st.st_nlink)


class LocalStorage:
    """A directory on a local disk shared by any number of processes."""

    has_change_tokens = True

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)
        self.url = "file://" + self.root
        self._staging = os.path.join(self.root, ".staging")
        self._index = os.path.join(self.root, "index")
        for directory in (self._staging, self._index, os.path.join(self.root, "files")):
            os.makedirs(directory, exist_ok=True)

    def _path(self, key: str) -> str:
        return os.path.join(self.root, *key.split("/"))

    def probe(self) -> None:
        if _stat_token(self._index) is None:
            raise StorageUnavailable(f"{self._index} is missing")

    def index_token(self) -> Token | None:
        quarantine = _stat_token(os.path.join(self.root, "quarantine")) or ()
        return (*(_stat_token(self._index) or ()), *quarantine)

    def project_token(self, project: NormalizedName) -> Token | None:
        return _stat_token(os.path.join(self._index, project))

    def list_projects(self) -> list[str]:
        with _storage_errors(), os.scandir(self._index) as entries:
            return [e.name for e in entries if not e.name.startswith(".") and e.is_dir()]

    def list_records(self, project: NormalizedName) -> dict[str, Token]:
        records: dict[str, Token] = {}
        try:
            with _storage_errors(), os.scandir(os.path.join(self._index, project)) as entries:
                for entry in entries:
                    name = entry.name
                    if name.startswith(".") or not name.endswith(_RECORD_SUFFIX):
                        continue
                    st = entry.stat()
                    records[name[: -len(_RECORD_SUFFIX)]] = (st.st_mtime_ns, st.st_ino, st.st_size)
        except FileNotFoundError:
            return {}
        return records

    def read_record(self, project: NormalizedName, filename: str) -> bytes | None:
        try:
            with _storage_errors(), open(self._path(record_key(project, filename)), "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def read_records(self, project: NormalizedName, filenames: list[str]) -> dict[str, bytes]:
        return _read_each(self, project, filenames)

    def _write_staged(self, data: bytes) -> str:
        fd, tmp = tempfile.mkstemp(dir=self._staging, prefix="record-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:
            os.unlink(tmp)
            raise
        return tmp

    def create_record(self, project: NormalizedName, filename: str, data: bytes) -> bool:
        target = self._path(record_key(project, filename))
        with _storage_errors():
            os.makedirs(os.path.dirname(target), exist_ok=True)
            tmp = self._write_staged(data)
            try:
                os.link(tmp, target)  # create-only: fails with EEXIST if another won
            except FileExistsError:
                return False
            finally:
                os.unlink(tmp)
        return True

    def replace_record(self, project: NormalizedName, filename: str, data: bytes) -> None:
        target = self._path(record_key(project, filename))
        with _storage_errors():
            tmp = self._write_staged(data)
            try:
                os.replace(tmp, target)
            except BaseException:
                os.unlink(tmp)
                raise

    def staging_file(self) -> contextlib.AbstractContextManager[str]:
        # Inside the store's directory, so publishing is a link, not a copy.
        return _removed_after(os.path.join(self._staging, f"upload-{uuid.uuid4().hex}"))

    def publish_blob(self, local_path: str, key: str) -> None:
        target = self._path(key)
        with _storage_errors():
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(local_path, "rb+") as handle:
                os.fsync(handle.fileno())
            try:
                os.link(local_path, target)
            except FileExistsError:
                pass  # content-addressed: an existing blob holds the same bytes
            except OSError as exc:
                if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
                    raise
                tmp = target + f".tmp-{uuid.uuid4().hex}"
                shutil.copyfile(local_path, tmp)
                os.replace(tmp, target)

    def put_blob(self, key: str, data: bytes) -> None:
        target = self._path(key)
        with _storage_errors():
            os.makedirs(os.path.dirname(target), exist_ok=True)
            tmp = self._write_staged(data)
            os.replace(tmp, target)

    def open_blob(self, key: str) -> IO[bytes]:
        with _storage_errors():
            return open(self._path(key), "rb")

    def local_path(self, key: str) -> str | None:
        return self._path(key)

    def delete_blob(self, key: str) -> None:
        with _storage_errors(), contextlib.suppress(FileNotFoundError):
            os.unlink(self._path(key))

    def walk_blobs(self, prefix: str) -> Iterator[tuple[str, float]]:
        top = self._path(prefix.rstrip("/"))
        for directory, _dirs, files in os.walk(top):
            relative = os.path.relpath(directory, self.root).replace(os.sep, "/")
            for name in files:
                with contextlib.suppress(FileNotFoundError):
                    yield f"{relative}/{name}", os.stat(os.path.join(directory, name)).st_mtime

    def list_blobs(self, prefix: str) -> list[str]:
        try:
            with _storage_errors(), os.scandir(self._path(prefix.rstrip("/"))) as entries:
                return [prefix + e.name for e in entries if e.is_file() and not e.name.startswith(".")]
        except FileNotFoundError:
            return []


class FsspecStorage:
    """Any fsspec filesystem; change tokens are not available, so views age by TTL."""

    has_change_tokens = False

    def __init__(self, url: str, options: dict[str, Any] | None = None) -> None:
        self.url = url
        fs, root = fsspec.core.url_to_fs(url, **(options or {}))
        self.fs: fsspec.AbstractFileSystem = fs
        self.root = root.rstrip("/")

    def _path(self, key: str) -> str:
        return f"{self.root}/{key}"

    def probe(self) -> None:
        with _storage_errors():
            self.fs.exists(self._path("index"))

    def index_token(self) -> Token | None:
        return None

    def project_token(self, project: NormalizedName) -> Token | None:
        return None

    def _ls(self, path: str) -> list[dict[str, Any]]:
        try:
            with _storage_errors():
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
            if entry["type"] == "file" and name.endswith(_RECORD_SUFFIX):
                # ETag (S3) or creation/modification time: changes when a record is rewritten.
                version = (
                    entry.get("ETag")
                    or entry.get("LastModified")
                    or entry.get("mtime")
                    or entry.get("created")
                )
                records[name[: -len(_RECORD_SUFFIX)]] = (
                    int(entry.get("size") or 0),
                    zlib.crc32(str(version).encode()),
                )
        return records

    def read_record(self, project: NormalizedName, filename: str) -> bytes | None:
        try:
            with _storage_errors():
                data: bytes = self.fs.cat_file(self._path(record_key(project, filename)))
                return data
        except FileNotFoundError:
            return None

    def _parent_dirs(self, path: str) -> None:
        """Filesystems with real directories need them before a write."""
        self.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)

    def read_records(self, project: NormalizedName, filenames: list[str]) -> dict[str, bytes]:
        return _read_each(self, project, filenames)

    def create_record(self, project: NormalizedName, filename: str, data: bytes) -> bool:
        path = self._path(record_key(project, filename))
        # A generic fsspec store offers no atomic create: the process-wide lock makes it
        # exact within this process (all a memory filesystem can have); stores shared by
        # several processes must use LocalStorage or S3Storage, which are create-only.
        with _CREATE_LOCK, _write_errors():
            if self.fs.exists(path):
                return False
            self._parent_dirs(path)
            self.fs.pipe_file(path, data)
        return True

    def replace_record(self, project: NormalizedName, filename: str, data: bytes) -> None:
        path = self._path(record_key(project, filename))
        with _write_errors():
            self._parent_dirs(path)
            self.fs.pipe_file(path, data)

    def staging_file(self) -> contextlib.AbstractContextManager[str]:
        fd, path = tempfile.mkstemp(prefix="pyregistry-upload-")
        os.close(fd)
        return _removed_after(path)

    def publish_blob(self, local_path: str, key: str) -> None:
        with _write_errors():
            self._parent_dirs(self._path(key))
            self.fs.put_file(local_path, self._path(key))

    def put_blob(self, key: str, data: bytes) -> None:
        with _write_errors():
            self._parent_dirs(self._path(key))
            self.fs.pipe_file(self._path(key), data)

    def open_blob(self, key: str) -> IO[bytes]:
        with _storage_errors():
            handle: IO[bytes] = self.fs.open(self._path(key), "rb")
            return handle

    def local_path(self, key: str) -> str | None:
        return None

    def delete_blob(self, key: str) -> None:
        with _storage_errors(), contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(self._path(key))

    def walk_blobs(self, prefix: str) -> Iterator[tuple[str, float]]:
        with _storage_errors():
            found = self.fs.find(self._path(prefix.rstrip("/")), detail=True)
        for path, info in found.items():
            modified = info.get("LastModified") or info.get("mtime") or info.get("created") or 0
            stamp = modified.timestamp() if hasattr(modified, "timestamp") else float(modified)
            yield path[len(self.root) + 1 :], stamp

    def list_blobs(self, prefix: str) -> list[str]:
        return [
            prefix + e["name"].rsplit("/", 1)[-1]
            for e in self._ls(self._path(prefix.rstrip("/")))
            if e["type"] == "file"
        ]


_CREATE_LOCK = threading.Lock()


def open_storage(url: str, options: dict[str, Any] | None = None) -> Storage:
    """Open the store a ``storage.url`` (or a plain directory path) names."""
    if url.startswith("file://"):
        return LocalStorage(url[len("file://") :])
    if "://" not in url:
        return LocalStorage(url)
    if url.startswith(("s3://", "s3a://")):
        return S3Storage(url, options)
    return FsspecStorage(url, options)


# S3Storage lives in s3.py (it builds on FsspecStorage above); re-exported here.
from .s3 import S3Storage  # noqa: E402
