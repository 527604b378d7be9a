"""Mirrored projects: upstream listings kept fresh, and upstream files cached on demand.

Invariants:
1. An upstream listing is fetched at most once per ``pypi.upstream_ttl`` per process,
   in the mirror's own bounded fetch pool (never on a thread serving pages), one fetch
   per project at a time; an upstream 404 is remembered for ``pypi.upstream_negative_ttl``.
   Past the TTL the last listing is served at once while it is refreshed
   (stale-while-revalidate); only a name with no listing anywhere waits, at most the
   upstream timeout. A failing upstream is remembered (``breaker``): while the circuit is
   open nothing is asked and nobody waits.
2. Every fetched listing is also stored (``mirror/<project>.json``), so when the
   upstream is down or slow the last listing is still served (serve-stale), by this
   process and by every other replica. A stored listing is read again only when its
   version changed (one conditional read: a ``stat`` locally, a 304 on S3), so an
   outage past the TTL costs no re-read and no re-parse per request.
3. A file is fetched once per process at a time, verified against every advertised
   hash, and only then stored and published; a bad download is never kept.
4. Bounded: at most ``max_listings`` listings and as many parsed stored copies are
   kept, the oldest out first; both maps change under one lock, so an eviction never
   races another thread's insert.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout

import attrs

from ..errors import UpstreamError
from ..names import NormalizedName
from ..shared_cache import KeyedLocks, SharedTTLCache
from ..storage.base import NotModified, Storage
from .breaker import CircuitBreaker
from .client import Upstream, UpstreamFile, UpstreamProject
from .fetcher import BoundedFetcher
from .fields import vet_files

__all__ = ["Listing", "Mirror"]

log = logging.getLogger(__name__)


@attrs.frozen
class Listing:
    """An upstream listing with when it was fetched (wall-clock seconds)."""

    project: UpstreamProject
    fetched_at: float
    stale: bool = False

    def lists(self, filename: str) -> bool:
        """Whether this listing names ``filename``."""
        return any(f.filename == filename for f in self.project.files)


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
        timeout: float = 10.0,
        breaker: CircuitBreaker | None = None,
        workers: int = 4,
        max_queued: int = 64,
        max_listings: int = 10_000,
        counted: Callable[[str], object] = lambda outcome: None,
    ) -> None:
        self.upstream = upstream
        self._counted = counted  # told each page fetch's outcome: stored, missing or failed
        self._storage = storage
        self._ttl = ttl
        self._clock = clock
        self._max_listings = max_listings
        # Guards every change to the two maps below: evicting the oldest iterates one,
        # and another thread's insert during that would raise (a 500).
        self._maps_lock = threading.Lock()
        self._fresh: dict[str, Listing] = {}
        # The stored listing last read, by name: its version and what it parsed to.
        self._stored_copies: dict[str, tuple[str, Listing | None]] = {}
        self._missing: SharedTTLCache[str, bool] = SharedTTLCache(10_000, negative_ttl, clock)
        self.locks: KeyedLocks[str] = KeyedLocks()
        self.fetches = 0  # upstream page requests made, for tests and metrics
        self.breaker = breaker if breaker is not None else CircuitBreaker(clock)
        # A request that has nothing to serve waits at most this long for a fetch.
        self._wait = timeout + 1.0  # the client's own timeout error, when it comes, says more
        self._fetcher = BoundedFetcher(workers, max_queued)

    @staticmethod
    def _key(name: NormalizedName) -> str:
        return f"mirror/{name}.json"

    def _stored(self, name: NormalizedName) -> Listing | None:
        """The stored listing of ``name``; read and parsed again only when it changed."""
        held = self._stored_copies.get(name)
        try:
            found = self._storage.read_document(self._key(name), held[0] if held is not None else None)
        except FileNotFoundError:
            found = None
        if isinstance(found, NotModified) and held is not None:
            return held[1]
        if found is None or isinstance(found, NotModified):
            with self._maps_lock:
                self._stored_copies.pop(name, None)
            return None
        listing = self._parse_stored(name, found.data)
        with self._maps_lock:
            self._stored_copies[name] = (found.etag, listing)
            while len(self._stored_copies) > self._max_listings:
                self._stored_copies.pop(next(iter(self._stored_copies)))
        return listing

    def _parse_stored(self, name: NormalizedName, data: bytes) -> Listing | None:
        try:
            raw = json.loads(data)
        except ValueError:
            return None
        try:
            loaded = [UpstreamFile.from_dict(f) for f in raw.get("files", [])]
            fetched_at = float(raw.get("fetched_at", 0))
        except (TypeError, AttributeError, ValueError) as exc:
            log.warning("ignoring the unreadable stored listing of %s: %s", name, exc)
            return None
        # Written by an older version, or by hand: vetted like a page from the network.
        files = vet_files(name, loaded, self.upstream.origins, self._key(name))
        return Listing(UpstreamProject(name, files), fetched_at, stale=True)

    def _store(self, name: NormalizedName, listing: Listing) -> None:
        document = {"fetched_at": listing.fetched_at, "files": [f.to_dict() for f in listing.project.files]}
        try:
            self._storage.put_blob(self._key(name), json.dumps(document).encode())
        except OSError as exc:  # the listing still serves from memory
            log.warning("could not store the upstream listing of %s: %s", name, exc)

    def state(self) -> dict[str, object]:
        """The replica's view of the upstream (for /health)."""
        state = self.breaker.state()
        return {
            "reachable": state.failures == 0,
            "last_error": state.last_error,
            "last_ok": state.last_ok,
            "failures": state.failures,
            "retry_in": round(max(0.0, state.open_until - self._clock()), 3) if state.failures else 0,
        }

    def known(self, name: NormalizedName) -> Listing | None:
        """The last listing this process or storage has, without asking the upstream."""
        return self._fresh.get(name) or self._stored(name)

    def remembers(self, name: NormalizedName) -> bool:
        """Whether this process holds a listing or a recent 404 of ``name`` (no I/O): a
        request for it is answered without waiting on the upstream."""
        return name in self._fresh or name in self._missing

    def _is_fresh(self, listing: Listing) -> bool:
        return self._clock() - listing.fetched_at < self._ttl

    def _is_missing(self, name: NormalizedName) -> bool:
        return name in self._missing

    def _remember(self, name: NormalizedName, listing: Listing) -> Listing:
        with self._maps_lock:
            self._fresh[name] = listing
            while len(self._fresh) > self._max_listings:
                self._fresh.pop(next(iter(self._fresh)))
        return listing

    def listing(self, name: NormalizedName) -> Listing | None:
        """A listing no older than the TTL, or else the last one (stale-while-revalidate:
        refreshed in the background); None on an upstream 404.

        Only a name with no listing anywhere waits for the upstream, at most the timeout;
        while the circuit is open it does not wait at all (UpstreamError).
        """
        current = self._fresh.get(name)
        if current is not None and self._is_fresh(current):
            return current
        if self._is_missing(name):
            return None
        # Past the TTL (or never seen): another worker or replica may have refreshed it
        # already; one storage read per expiry, so every process serves the same listing.
        stored = self._stored(name)
        if stored is not None and (current is None or stored.fetched_at > current.fetched_at):
            current = stored
            self._remember(name, current)
            if self._is_fresh(current):
                return self._remember(name, attrs.evolve(current, stale=False))
        future = self._refresh(name)
        if current is not None:
            return current  # the last listing at once; the refresh replaces it when it lands
        if future is None:
            raise UpstreamError(self._refusal())
        try:
            return future.result(timeout=self._wait)
        except FutureTimeout:
            raise UpstreamError(f"upstream did not answer within {self._wait:.0f} s") from None

    def newer(self, name: NormalizedName, listing: Listing) -> Listing | None:
        """A listing newer than ``listing``: the stored one (another process fetched it),
        or else the refresh of a stale one, waited for at most the timeout; None if neither."""
        stored = self._stored(name)
        if stored is not None and stored.fetched_at > listing.fetched_at:
            return self._remember(name, attrs.evolve(stored, stale=False))
        if self._is_fresh(listing):
            return None
        future = self._refresh(name)
        if future is None:
            return None
        try:
            return future.result(timeout=self._wait)
        except (UpstreamError, OSError, FutureTimeout):
            return None

    def _refusal(self) -> str:
        """Why no fetch was started: the open circuit, or the full fetch queue."""
        state = self.breaker.state()
        if state.failures:
            return (
                f"the upstream is failing; not asked again for {self.breaker.retry_in():.0f} s "
                f"(last error: {state.last_error})"
            )
        return "too many upstream requests are in flight; try again shortly"

    def settle(self, timeout: float = 30.0) -> bool:
        """Wait until no fetch is in flight (tests, benchmarks, shutdown); False on timeout."""
        return self._fetcher.wait_idle(timeout)

    def _refresh(self, name: NormalizedName) -> Future[Listing | None] | None:
        """The fetch of ``name`` in flight, or a new one; None when the circuit is open or
        the fetch queue is full."""
        return self._fetcher.submit(f"page:{name}", lambda: self._fetch(name), self.breaker.allow)

    def _fetch(self, name: NormalizedName) -> Listing | None:
        """Ask the upstream (in the fetch pool); record the outcome and the listing."""
        stored = self._stored(name)
        if stored is not None and self._is_fresh(stored):  # another replica just fetched it
            self.breaker.success()
            return self._remember(name, attrs.evolve(stored, stale=False))
        self.fetches += 1
        try:
            project = self.upstream.project(name)
        except UpstreamError as exc:
            self._counted("failed")
            self.breaker.failure(exc.message)
            if name in self._fresh:
                log.warning("upstream failed for %s, serving the last listing: %s", name, exc.message)
            raise
        except Exception as exc:
            self._counted("failed")
            self.breaker.failure(f"{type(exc).__name__}: {exc}")
            raise
        self.breaker.success()
        self._counted("missing" if project is None else "stored")
        if project is None:
            self._missing.put(name, True)
            with self._maps_lock:
                self._fresh.pop(name, None)
            return None
        listing = Listing(project, self._clock())
        self._remember(name, listing)
        self._store(name, listing)
        return listing
