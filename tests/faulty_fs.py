"""Fault injection for storage tests: an fsspec filesystem wrapper and a Storage wrapper.

``FaultyFileSystem`` wraps the fsspec filesystem of an ``FsspecStorage`` or ``S3Storage``
(replace ``storage.fs``), so injected errors travel through the store's own error
handling exactly as a real backend's would. It fails on demand:

- the Nth write from now (``pipe_file``/``put_file``, S3's ``copy_object``) raises,
  before it happens, after it committed (a timeout on the reply), or after writing a
  partial object (a close that failed on a filesystem without atomic writes);
- every call raises (an outage, throttling), until ``heal``;
- listings go stale: ``ls`` returns what it returned before ``freeze_listings``.

``FaultyStorage`` wraps any ``Storage`` and can point its scratch files at ``/dev/full``
through a symlink, so writing an upload's bytes fails with a real ENOSPC, at ``write`` or
at ``close`` (buffered writes fail when flushed).
"""

from __future__ import annotations

import contextlib
import errno
import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyregistry_core.storage.staging import local_staging

__all__ = [
    "DEV_FULL",
    "FaultyFileSystem",
    "FaultyStorage",
    "enospc",
    "s3_slow_down",
    "timeout_after_commit",
]

DEV_FULL = Path("/dev/full")

_WRITES = ("pipe_file", "put_file")


def enospc() -> OSError:
    """The error a full disk gives."""
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def timeout_after_commit() -> OSError:
    """What a client sees when the store committed a write but the reply never came."""
    return TimeoutError(errno.ETIMEDOUT, "Read timeout on endpoint URL")


def s3_slow_down() -> OSError:
    """S3 throttling as s3fs raises it once its retries are spent (an OSError)."""
    return OSError(
        errno.EBUSY,
        "An error occurred (SlowDown) when calling the PutObject operation: Please reduce your request rate.",
    )


@dataclass
class _Fault:
    error: BaseException
    when: str  # "before", "after" (committed) or "partial"


class FaultyFileSystem:
    """Delegates to an fsspec filesystem, failing on demand (see the module docstring)."""

    def __init__(self, fs: Any) -> None:
        self.fs = fs
        self.writes = 0
        self.failed: list[str] = []
        self._plan: dict[int, _Fault] = {}
        self._outage: BaseException | None = None
        self._outage_writes_only = False
        self._frozen = False
        self._listings: dict[str, Any] = {}
        self._lock = threading.Lock()

    # -- arming --------------------------------------------------------------------------

    def fail_write(self, number: int, error: BaseException, *, when: str = "before") -> None:
        """Make the ``number``-th write from now raise ``error``: ``before`` writing,
        ``after`` it committed, or after writing only half of it (``partial``)."""
        assert when in ("before", "after", "partial")
        self._plan[self.writes + number] = _Fault(error, when)

    def fail_everything(self, error: BaseException, *, writes_only: bool = False) -> None:
        """Make every call (or every write) raise ``error`` until ``heal``."""
        self._outage, self._outage_writes_only = error, writes_only

    def freeze_listings(self) -> None:
        """From now on ``ls`` answers what it answered last for that path (a stale cache)."""
        self._frozen = True

    def heal(self) -> None:
        """Forget every fault still armed."""
        self._plan.clear()
        self._outage = None
        self._frozen = False

    # -- the filesystem --------------------------------------------------------------------

    def _check_outage(self, name: str, write: bool) -> None:
        if self._outage is not None and (write or not self._outage_writes_only):
            self.failed.append(name)
            raise self._outage

    def _write(self, name: str, path: str, do: Any, do_partial: Any) -> Any:
        self._check_outage(name, write=True)
        with self._lock:
            self.writes += 1
            fault = self._plan.pop(self.writes, None)
        if fault is None:
            return do()
        self.failed.append(f"{name} {path}")
        if fault.when == "after":
            do()
        elif fault.when == "partial":
            do_partial()
        raise fault.error

    def pipe_file(self, path: str, value: bytes, *args: Any, **kwargs: Any) -> Any:
        return self._write(
            "pipe_file",
            path,
            lambda: self.fs.pipe_file(path, value, *args, **kwargs),
            lambda: self.fs.pipe_file(path, value[: len(value) // 2]),
        )

    def put_file(self, lpath: str, rpath: str, *args: Any, **kwargs: Any) -> Any:
        def partial() -> None:
            data = Path(lpath).read_bytes()
            self.fs.pipe_file(rpath, data[: len(data) // 2])

        def whole() -> Any:
            return self.fs.put_file(lpath, rpath, *args, **kwargs)

        return self._write("put_file", rpath, whole, partial)

    def call_s3(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """S3's server-side copy (how a file staged in the bucket is published) is a write."""
        if method != "copy_object":
            self._check_outage(method, write=False)
            return self.fs.call_s3(method, *args, **kwargs)
        bucket = kwargs["Bucket"]
        source = f"{kwargs['CopySource']['Bucket']}/{kwargs['CopySource']['Key']}"

        def partial() -> None:
            data = self.fs.cat_file(source)
            self.fs.pipe_file(f"{bucket}/{kwargs['Key']}", data[: len(data) // 2])

        return self._write(
            "copy_object",
            f"{bucket}/{kwargs['Key']}",
            lambda: self.fs.call_s3(method, *args, **kwargs),
            partial,
        )

    def ls(self, path: str, *args: Any, **kwargs: Any) -> Any:
        self._check_outage("ls", write=False)
        key = path.rstrip("/")
        if self._frozen and key in self._listings:
            cached = self._listings[key]
            if cached is None:
                raise FileNotFoundError(path)
            return cached
        try:
            result = self.fs.ls(path, *args, **kwargs)
        except FileNotFoundError:
            self._listings[key] = None
            raise
        self._listings[key] = result
        return result

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.fs, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            self._check_outage(name, write=name in _WRITES or name in ("rm_file", "rm", "makedirs"))
            return attribute(*args, **kwargs)

        return call


class FaultyStorage:
    """Delegates to a Storage; ``disk_full`` makes its scratch files a path to /dev/full."""

    def __init__(self, storage: Any, scratch_dir: Path) -> None:
        self.storage = storage
        self._scratch = scratch_dir
        self.full = False

    @contextlib.contextmanager
    def staging_file(self) -> Iterator[str]:
        if not self.full:
            with self.storage.staging_file() as path:
                yield path
            return
        # A symlink, so removing the scratch path afterwards never touches /dev/full.
        link = self._scratch / f"full-{uuid.uuid4().hex}"
        link.symlink_to(DEV_FULL)
        try:
            yield str(link)
        finally:
            with contextlib.suppress(FileNotFoundError):
                link.unlink()

    def staging_upload(self) -> Any:
        """Uploads staged in this wrapper's scratch files (so ``full`` reaches them)."""
        return local_staging(self)  # type: ignore[arg-type]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.storage, name)
