"""Bounded, separate thread pools: a kind of request can only exhaust its own.

Invariants:
1. A pool runs at most ``threads`` calls at once, and admits at most ``queue`` more to
   wait; past that, ``run`` raises ``PoolBusy`` at once (the adapter answers 503 with
   ``Retry-After``) instead of queueing without bound.
2. A call counts against its pool until its thread finishes it, even when the request
   that started it has gone: a cancelled request cannot make room its thread still holds.
3. Threads start on first use, so an app built before a fork starts none in the parent.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from pyregistry_core import Lane, ThreadPools

__all__ = ["BoundedPool", "PoolBusy", "Pools"]

P = ParamSpec("P")
T = TypeVar("T")


class PoolBusy(Exception):
    """Every thread of a pool is busy and its queue is full."""

    def __init__(self, pool: BoundedPool) -> None:
        super().__init__(f"all {pool.threads} {pool.name} threads are busy and {pool.queue} requests wait")
        self.pool = pool


class BoundedPool:
    """A named thread pool with a bounded queue (invariant 1)."""

    def __init__(self, name: str, threads: int, queue: int) -> None:
        self.name = name
        self.threads = threads
        self.queue = queue
        self._lock = threading.Lock()
        self._admitted = 0
        self._executor: ThreadPoolExecutor | None = None

    @property
    def admitted(self) -> int:
        """Calls running or waiting now."""
        return self._admitted

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.threads, thread_name_prefix=f"pyregistry-{self.name}")
        return self._executor

    def _release(self, _done: object = None) -> None:
        with self._lock:
            self._admitted -= 1

    async def run(self, function: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """``function(*args, **kwargs)`` on one of the pool's threads (context variables
        carried, as ``asyncio.to_thread`` does); ``PoolBusy`` when it cannot even wait."""
        with self._lock:
            if self._admitted >= self.threads + self.queue:
                raise PoolBusy(self)
            self._admitted += 1
        call = functools.partial(contextvars.copy_context().run, function, *args, **kwargs)
        try:
            future = self._pool().submit(call)
        except BaseException:
            self._release()
            raise
        future.add_done_callback(self._release)  # invariant 2: when the thread is done
        return await asyncio.wrap_future(future)

    def shutdown(self) -> None:
        """Take no more calls; those running finish on their own."""
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)


class Pools:
    """The adapter's pools: one per ``Lane``, and one reading file bodies."""

    def __init__(self, sizes: ThreadPools) -> None:
        self.sizes = sizes
        self.reads = BoundedPool("read", sizes.reads, sizes.queue)
        self.upstream = BoundedPool("upstream", sizes.upstream, sizes.queue)
        self.uploads = BoundedPool("upload", sizes.uploads, sizes.queue)
        # A download has at most one chunk read in flight, so this pool's queue is
        # bounded by the open downloads; refusing one mid-body is not an option.
        self.files = BoundedPool("file", sizes.files, 2**31)
        self._by_lane = {Lane.READ: self.reads, Lane.UPSTREAM: self.upstream, Lane.UPLOAD: self.uploads}

    def of(self, lane: Lane) -> BoundedPool:
        """The pool that runs requests of ``lane``."""
        return self._by_lane[lane]

    def shutdown(self) -> None:
        """Stop every pool (the server's lifespan shutdown)."""
        for pool in (self.reads, self.upstream, self.uploads, self.files):
            pool.shutdown()
