"""Counting what a store is asked: real S3 requests through botocore's event hooks on
the store's own client, and ``Storage`` calls on any store (a wrapper)."""

from __future__ import annotations

import threading
from typing import Any

from fsspec.asyn import sync

from pyregistry_core.storage import S3Storage

__all__ = ["S3Requests", "StorageCalls"]


class S3Requests:
    """Every HTTP request an ``S3Storage`` sends, as ``"METHOD key"`` lines."""

    def __init__(self, storage: S3Storage) -> None:
        self.sent: list[str] = []
        self._lock = threading.Lock()
        client = sync(storage.fs.loop, storage.fs.set_session)
        client.meta.events.register("before-send.s3", self._record)
        reads = storage.presigned
        send = reads.send

        def presigned_send(url: str, headers: dict[str, str]) -> Any:
            path = url.split("?", 1)[0].split("/", 4)[-1]
            with self._lock:
                self.sent.append(f"GET {path}")
            return send(url, headers)

        reads.send = presigned_send  # type: ignore[method-assign]

    def _record(self, request: Any, **_: Any) -> None:
        path = request.url.split("?", 1)[0].split("/", 4)[-1]
        with self._lock:
            self.sent.append(f"{request.method} {path}")

    def take(self) -> list[str]:
        """The requests sent since the last ``take``."""
        with self._lock:
            sent, self.sent = self.sent, []
        return sent


_WRITES = ("create_record", "replace_record", "write_document", "put_blob", "publish_blob", "delete_blob")


class StorageCalls:
    """Wraps a ``Storage``: counts its calls, and can fail the Nth write (a crash)."""

    def __init__(self, storage: Any) -> None:
        self.storage = storage
        self.calls: list[str] = []
        self.called: list[tuple[str, tuple[Any, ...]]] = []  # each call's name and arguments
        self.writes = 0
        self.crash_at: int | None = None

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.storage, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            self.called.append((name, args))
            if name in _WRITES:
                self.writes += 1
                if self.writes == self.crash_at:
                    raise Crash(f"crashed before write {self.writes}: {name}{args[:2]}")
            return attribute(*args, **kwargs)

        return call


class Crash(BaseException):
    """The process died here (a BaseException: nothing in the core may swallow it)."""
