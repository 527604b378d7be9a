"""A directory on a local disk: create-only records by ``link``, change tokens by ``stat``,
compare-and-swap of documents under an ``flock`` on the document's lock file."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from typing import IO

from ..errors import StorageUnavailable
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
)
from .staging import StagedUpload, local_staging

__all__ = ["LocalStorage"]


def _stat_token(path: str) -> Token | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StorageUnavailable(f"storage failed: {exc}") from exc
    return (st.st_mtime_ns, st.st_ino, st.st_size, st.st_nlink)


_DOCUMENT_PATHS = 8192  # documents remembered by document_version: a few MiB at most


def _version(st: os.stat_result) -> str:
    # os.replace gives every version a new inode; the time and size tell reused ones apart.
    return f"{st.st_ino:x}-{st.st_mtime_ns:x}-{st.st_size:x}"


class LocalStorage:
    """A directory on a local disk shared by any number of processes."""

    has_change_tokens = True
    single_writer = False
    probe_is_stat = True  # ``probe`` is one ``stat`` and takes no lock (the fast path's /health)

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)
        self.url = "file://" + self.root
        self._staging = os.path.join(self.root, ".staging")
        self._index = os.path.join(self.root, "index")
        # Checked documents: path, and the stat and version last seen (a warm page stats its
        # document on every request; formatting the version anew took most of that call).
        self._documents: dict[str, tuple[str, tuple[int, int, int] | None, str | None]] = {}
        for directory in (self._staging, self._index, os.path.join(self.root, "files")):
            os.makedirs(directory, exist_ok=True)
        # Writable now, or refused now: not at the first upload, hours later.
        with tempfile.TemporaryFile(dir=self._staging):
            pass

    def _path(self, key: str) -> str:
        return os.path.join(self.root, *checked_key(key).split("/"))

    def probe(self) -> None:
        if _stat_token(self._index) is None:
            raise StorageUnavailable(f"{self._index} is missing")

    def probe_conditional_writes(self) -> bool:
        """Records are created by ``link``, which the OS makes create-only."""
        return True

    def index_token(self) -> Token | None:
        quarantine = _stat_token(os.path.join(self.root, "quarantine")) or ()
        return (*(_stat_token(self._index) or ()), *quarantine)

    def project_token(self, project: NormalizedName) -> Token | None:
        return _stat_token(os.path.join(self._index, project))

    def list_projects(self) -> list[str]:
        with storage_errors(), os.scandir(self._index) as entries:
            return [e.name for e in entries if not e.name.startswith(".") and e.is_dir()]

    def list_records(self, project: NormalizedName) -> dict[str, Token]:
        records: dict[str, Token] = {}
        try:
            with storage_errors(), os.scandir(os.path.join(self._index, project)) as entries:
                for entry in entries:
                    name = entry.name
                    if name.startswith(".") or not name.endswith(RECORD_SUFFIX):
                        continue
                    st = entry.stat()
                    records[name[: -len(RECORD_SUFFIX)]] = (st.st_mtime_ns, st.st_ino, st.st_size)
        except FileNotFoundError:
            return {}
        return records

    def read_record(self, project: NormalizedName, filename: str) -> bytes | None:
        try:
            with storage_errors(), open(self._path(record_key(project, filename)), "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def read_records(self, project: NormalizedName, filenames: list[str]) -> dict[str, bytes]:
        return read_each(self, project, filenames)

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
        return self.create_blob(record_key(project, filename), data)

    def create_blob(self, key: str, data: bytes) -> bool:
        target = self._path(key)
        with storage_errors():
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
        self._replace(self._path(record_key(project, filename)), data)

    def _replace(self, target: str, data: bytes) -> None:
        """Write ``data`` whole to ``target``: staged, then renamed over it (atomic)."""
        with storage_errors():
            os.makedirs(os.path.dirname(target), exist_ok=True)
            tmp = self._write_staged(data)
            try:
                os.replace(tmp, target)
            except BaseException:
                os.unlink(tmp)
                raise

    def read_document(self, key: str, etag: str | None = None) -> Document | NotModified | None:
        path = self._path(key)
        try:
            with storage_errors():
                if etag is not None and _version(os.stat(path)) == etag:
                    return NOT_MODIFIED
                with open(path, "rb") as handle:
                    # The version of the very bytes read (a replace may land meanwhile).
                    return Document(handle.read(), _version(os.fstat(handle.fileno())))
        except FileNotFoundError:
            return None

    def document_version(self, key: str) -> str | None:
        """The version ``read_document`` would report, by one ``stat`` and no lock (None
        when absent or unreadable: the caller then reads it the ordinary way)."""
        known = self._documents.get(key)
        if known is None:
            if len(self._documents) >= _DOCUMENT_PATHS:
                self._documents.clear()
            known = self._documents[key] = (self._path(key), None, None)
        try:
            st = os.stat(known[0])
        except OSError:
            return None
        # What ``_version`` reads; a new tuple, never changed, so a racing thread sees a whole one.
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        if stamp != known[1]:
            known = self._documents[key] = (known[0], stamp, _version(st))
        return known[2]

    def write_document(self, key: str, data: bytes, etag: str | None) -> str | None:
        path = self._path(key)
        with storage_errors():
            os.makedirs(os.path.dirname(path), exist_ok=True)
            lock = os.open(path + ".lock", os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(lock, fcntl.LOCK_EX)  # held by one writer of any process
                try:
                    current: str | None = _version(os.stat(path))
                except FileNotFoundError:
                    current = None
                if current != etag:
                    return None
                tmp = self._write_staged(data)
                os.replace(tmp, path)
                return _version(os.stat(path))
            finally:
                os.close(lock)  # closing releases the lock

    def staging_file(self) -> contextlib.AbstractContextManager[str]:
        # Inside the store's directory, so publishing is a link, not a copy.
        return removed_after(os.path.join(self._staging, f"upload-{uuid.uuid4().hex}"))

    def staging_upload(self) -> contextlib.AbstractContextManager[StagedUpload]:
        return local_staging(self)

    def publish_blob(self, local_path: str, key: str) -> None:
        target = self._path(key)
        with storage_errors():
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
        self._replace(self._path(key), data)

    def open_blob(self, key: str) -> IO[bytes]:
        with storage_errors():
            return open(self._path(key), "rb")

    def local_path(self, key: str) -> str | None:
        return self._path(key)

    def delete_blob(self, key: str) -> None:
        with storage_errors(), contextlib.suppress(FileNotFoundError):
            os.unlink(self._path(key))

    def staging_dir(self) -> str | None:
        return None  # uploads are staged in the store's own .staging/

    def incomplete_uploads(self) -> Iterator[tuple[str, str, float]]:
        return iter(())

    def abort_upload(self, key: str, upload_id: str) -> None:
        return None  # a local store has no multipart uploads

    def walk_blobs(self, prefix: str) -> Iterator[tuple[str, float]]:
        top = self._path(prefix.rstrip("/"))
        for directory, _dirs, files in os.walk(top):
            relative = os.path.relpath(directory, self.root).replace(os.sep, "/")
            for name in files:
                with contextlib.suppress(FileNotFoundError):
                    yield f"{relative}/{name}", os.stat(os.path.join(directory, name)).st_mtime

    def list_blobs(self, prefix: str) -> list[str]:
        try:
            with storage_errors(), os.scandir(self._path(prefix.rstrip("/"))) as entries:
                return [prefix + e.name for e in entries if e.is_file() and not e.name.startswith(".")]
        except FileNotFoundError:
            return []
