"""Mirrored projects: upstream listings kept fresh, and upstream files cached on demand.

Invariants:
1. An upstream listing is fetched at most once per ``pypi.upstream_ttl`` per process
   (concurrent callers wait for one fetch: per-key coalescing); an upstream 404 is
   remembered for ``pypi.upstream_negative_ttl``.
2. Every fetched listing is also stored (``mirror/<project>.json``), so when the
   upstream is down or slow the last listing is still served (serve-stale), by this
   process and by every other replica.
3. A file is fetched once per process at a time, verified against every advertised
   hash, and only then stored and published; a bad download is never kept.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator

import attrs

from ..errors import UpstreamError
from ..names import NormalizedName
from ..shared_cache import SharedTTLCache
from ..storage.base import Storage
from .client import Upstream, UpstreamFile, UpstreamProject
from .fields import vet_files

__all__ = ["KeyedLocks", "Mirror"]

log = logging.getLogger(__name__)


class KeyedLocks:
    """One lock per key, created on demand and dropped when nobody holds or waits."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, int]] = {}

    @contextlib.contextmanager
    def hold(self, key: str) -> Iterator[None]:
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


@attrs.frozen
class Listing:
    """An upstream listing with when it was fetched (wall-clock seconds)."""

    project: UpstreamProject
    fetched_at: float
    stale: bool = False


class Mirror:
    """Upstream listings (fresh, negative-cached, stored) for one registry."""

    def __init__(
        self,
        upstream: Upstream,
        storage: Storage,
        *,
        ttl: float,
        negative_ttl: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.upstream = upstream
        self._storage = storage
        self._ttl = ttl
        self._clock = clock
        self._fresh: dict[str, Listing] = {}
        self._missing: SharedTTLCache[str, bool] = SharedTTLCache(10_000, negative_ttl, clock)
        self.locks = KeyedLocks()
        self.fetches = 0  # upstream page requests made, for tests and metrics
        self.last_ok: float | None = None
        self.last_error: str | None = None

    @staticmethod
    def _key(name: NormalizedName) -> str:
        return f"mirror/{name}.json"

    def _stored(self, name: NormalizedName) -> Listing | None:
        try:
            with self._storage.open_blob(self._key(name)) as handle:
                raw = json.loads(handle.read())
        except (FileNotFoundError, ValueError):
            return None
        try:
            loaded = [UpstreamFile.from_dict(f) for f in raw.get("files", [])]
        except (TypeError, AttributeError) as exc:
            log.warning("ignoring the unreadable stored listing of %s: %s", name, exc)
            return None
        # Written by an older version, or by hand: vetted like a page from the network.
        files = vet_files(name, loaded, self.upstream.origins, self._key(name))
        return Listing(UpstreamProject(name, files), float(raw.get("fetched_at", 0)), stale=True)

    def _store(self, name: NormalizedName, listing: Listing) -> None:
        document = {"fetched_at": listing.fetched_at, "files": [f.to_dict() for f in listing.project.files]}
        try:
            self._storage.put_blob(self._key(name), json.dumps(document).encode())
        except OSError as exc:  # the listing still serves from memory
            log.warning("could not store the upstream listing of %s: %s", name, exc)

    def state(self) -> dict[str, object]:
        """The last outcome of talking to the upstream (for /health)."""
        return {"reachable": self.last_error is None, "last_error": self.last_error, "last_ok": self.last_ok}

    def known(self, name: NormalizedName) -> Listing | None:
        """The last listing this process or storage has, without asking the upstream."""
        return self._fresh.get(name) or self._stored(name)

    def listing(self, name: NormalizedName) -> Listing | None:
        """A listing no older than the TTL; stale when the upstream fails; None on 404."""
        current = self._fresh.get(name)
        if current is not None and self._clock() - current.fetched_at < self._ttl:
            return current
        if name in self._missing:
            return None
        with self.locks.hold(f"page:{name}"):
            current = self._fresh.get(name)
            if current is not None and self._clock() - current.fetched_at < self._ttl:
                return current
            if name in self._missing:
                return None
            stored = self._stored(name)
            if stored is not None and self._clock() - stored.fetched_at < self._ttl:
                self._fresh[name] = attrs.evolve(stored, stale=False)
                return self._fresh[name]
            try:
                self.fetches += 1
                project = self.upstream.project(name)
            except UpstreamError as exc:
                self.last_error = exc.message
                fallback = current or stored
                if fallback is None:
                    raise
                log.warning("upstream failed for %s, serving the last listing: %s", name, exc.message)
                return attrs.evolve(fallback, stale=True)
            self.last_ok, self.last_error = self._clock(), None
            if project is None:
                self._missing.put(name, True)
                self._fresh.pop(name, None)
                return None
            listing = Listing(project, self._clock())
            self._fresh[name] = listing
            if len(self._fresh) > 10_000:
                self._fresh.pop(next(iter(self._fresh)), None)  # another thread may evict it too
            self._store(name, listing)
            return listing
