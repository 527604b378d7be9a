"""Shared revalidations: concurrent readers of one key share one storage check.

With ``pypi.index_ttl = 0`` every page request revalidates. Under a threaded server
many requests for one project arrive together; each sending its own conditional
request would multiply the storage traffic by the concurrency.

Invariant (read-your-writes): a caller only ever gets the result of a check that
STARTED AFTER the caller arrived, so any write acknowledged before it arrived is seen.
A caller arriving while a check is running does not take that check's result: it
joins the next round, which starts when the running one ends and serves everyone who
queued meanwhile. So per key at most one check runs and at most one waits, whatever
the number of callers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["SharedChecks"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _Round(Generic[V]):
    """One check and the callers waiting for it."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: V | None = None
        self.error: BaseException | None = None

    def outcome(self) -> V:
        self.done.wait()
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]  # set when error is None


class SharedChecks(Generic[K, V]):
    """Runs ``check`` for a key, shared with callers that arrived before it started."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[K, _Round[V]] = {}
        self._queued: dict[K, _Round[V]] = {}
        self.joined = 0  # callers answered by a check another caller ran

    def run(self, key: K, check: Callable[[], V]) -> V:
        """``check()``'s result, from a run that started after this call began."""
        with self._lock:
            running = self._running.get(key)
            queued = self._queued.get(key) if running is not None else None
            if queued is not None:
                self.joined += 1
            else:
                mine: _Round[V] = _Round()
                if running is None:
                    self._running[key] = mine
                else:
                    self._queued[key] = mine
        if queued is not None:
            return queued.outcome()  # queued before it started: its result is fresh enough
        if running is not None:
            running.done.wait()  # our round starts only once the one we missed ends
            with self._lock:
                del self._queued[key]  # no one joins once the check may have started
                self._running[key] = mine
        try:
            mine.value = check()
        except BaseException as error:  # every caller of the round gets it
            mine.error = error
        finally:
            with self._lock:
                if self._running.get(key) is mine:
                    del self._running[key]
            mine.done.set()
        return mine.outcome()
