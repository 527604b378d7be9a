"""In-process caches that the server's threads share.

Invariants:
1. Every access to a ``SharedTTLCache`` holds its lock, and time is frozen for the
   length of one access: cachetools' caches are not thread-safe, and an entry may
   expire between a membership test and a read (a ``KeyError``, so a 500).
2. ``get_or_load`` loads a missing key once at a time: concurrent callers for one key
   wait for the first load and reuse its value (a burst costs one slow load).
3. ``peek`` never waits: when another thread holds the lock it answers "not cached".
"""

from __future__ import annotations

import contextlib
import enum
import threading
import time
from collections.abc import Callable, Hashable, Iterator
from typing import Generic, TypeVar

from cachetools import TTLCache

__all__ = ["KeyedLocks", "SharedTTLCache"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class KeyedLocks(Generic[K]):
    """One lock per key, created on demand and dropped when nobody holds or waits."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[K, tuple[threading.Lock, int]] = {}

    @contextlib.contextmanager
    def hold(self, key: K) -> Iterator[None]:
        """Hold the lock of ``key``."""
        with self._guard:
            lock, users = self._locks.get(key, (threading.Lock(), 0))
            self._locks[key] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                lock, users = self._locks[key]
                if users == 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)


class _Missing(enum.Enum):
    MISSING = enum.auto()


class SharedTTLCache(Generic[K, V]):
    """A ``TTLCache`` that many threads may use at once (see the module invariants)."""

    def __init__(self, maxsize: int, ttl: float, timer: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._cache: TTLCache[K, V] = TTLCache(maxsize=maxsize, ttl=ttl, timer=timer)
        self._loading: KeyedLocks[K] = KeyedLocks()

    def _lookup(self, key: K) -> V | _Missing:
        with self._lock, self._cache.timer:
            if key in self._cache:
                return self._cache[key]
        return _Missing.MISSING

    def __contains__(self, key: K) -> bool:
        return not isinstance(self._lookup(key), _Missing)

    def __len__(self) -> int:
        return len(self.items())

    def items(self) -> list[tuple[K, V]]:
        """A snapshot of the live entries."""
        with self._lock, self._cache.timer:
            return list(self._cache.items())

    def peek(self, key: K) -> V | None:
        """The cached value, or None when absent or when asking would mean waiting."""
        if not self._lock.acquire(blocking=False):
            return None
        try:
            with self._cache.timer:
                return self._cache.get(key)
        finally:
            self._lock.release()

    def put(self, key: K, value: V) -> None:
        """Store ``value`` for the cache's TTL."""
        with self._lock:
            self._cache[key] = value

    def pop(self, key: K) -> None:
        """Forget ``key`` (nothing happens when it is absent)."""
        with self._lock:
            self._cache.pop(key, None)

    def get_or_load(self, key: K, load: Callable[[], V]) -> V:
        """The cached value, or ``load()``'s, computed once however many threads ask at once."""
        found = self._lookup(key)
        if not isinstance(found, _Missing):
            return found
        with self._loading.hold(key):
            found = self._lookup(key)  # another thread may have loaded it meanwhile
            if not isinstance(found, _Missing):
                return found
            value = load()
            self.put(key, value)
            return value
