"""A bounded pool for upstream requests, one in flight per key.

Invariant: upstream I/O runs on at most ``workers`` threads of this pool, never on a
thread serving pages, and at most ``max_queued`` fetches wait or run at once: past that a
fetch is refused (the caller serves what it has, or answers 502) rather than queued
without bound. Concurrent callers for one key share one ``Future``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TypeVar

__all__ = ["BoundedFetcher"]

T = TypeVar("T")


class BoundedFetcher:
    """Runs keyed fetches in a small thread pool with a bounded queue."""

    def __init__(self, workers: int, max_queued: int) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._workers = workers
        self._max_queued = max_queued
        self._lock = threading.Lock()
        self._inflight: dict[str, Future[object]] = {}

    def _executor(self) -> ThreadPoolExecutor:
        # Made on first use: a registry built before a fork (gunicorn's preload) starts
        # no thread in the parent.
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="pyregistry-upstream")
        return self._pool

    def in_flight(self) -> int:
        """How many fetches are queued or running."""
        with self._lock:
            return len(self._inflight)

    def submit(self, key: str, fetch: Callable[[], T], may_start: Callable[[], bool]) -> Future[T] | None:
        """The fetch of ``key`` in flight, or a new one when there is room and
        ``may_start()`` agrees (asked last, so a half-open probe it grants is used)."""
        with self._lock:
            running = self._inflight.get(key)
            if running is not None:
                return running  # type: ignore[return-value]
            if len(self._inflight) >= self._max_queued or not may_start():
                return None
            future: Future[T] = self._executor().submit(fetch)
            self._inflight[key] = future  # type: ignore[assignment]
        future.add_done_callback(lambda done: self._forget(key, done))
        return future

    def _forget(self, key: str, done: Future[T]) -> None:
        with self._lock:
            if self._inflight.get(key) is done:
                del self._inflight[key]

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is in flight (tests and shutdown); False on timeout."""
        with self._lock:
            pending = list(self._inflight.values())
        for future in pending:
            try:
                future.exception(timeout=timeout)
            except FutureTimeout:
                return False
        return True

    def shutdown(self) -> None:
        """Stop taking fetches; running ones finish on their own."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
