"""A failing upstream is remembered: exponential backoff and a circuit that half-opens.

Invariants:
1. After ``n`` consecutive failures the circuit is open for ``min(base * 2**(n-1),
   max_backoff)`` seconds: no request goes upstream. Then it half-opens: one probe per
   process goes out; its success closes the circuit, its failure opens it for longer.
2. The state is shared by the workers of a replica through a small JSON file (written
   atomically, and only when the state changes), so a gunicorn worker that never saw the
   outage does not pay its own timeout to discover it, and ``/health`` says the same in
   every worker. It is per replica, not in the shared storage: whether the upstream is
   reachable is a property of this replica's network path, and a state write must cost
   no storage request.
3. Time comes from an injected wall clock; a state from a clock ahead of ours (another
   run, a test clock) is ignored.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable

import attrs

__all__ = ["BreakerState", "CircuitBreaker", "default_state_path"]

log = logging.getLogger(__name__)


@attrs.frozen
class BreakerState:
    """Consecutive failures, until when the circuit stays open, and the last outcomes."""

    failures: int = 0
    open_until: float = 0.0
    last_error: str | None = None
    last_ok: float | None = None
    updated: float = 0.0


def default_state_path(*identity: str) -> str:
    """A per-replica state file: the same for every worker forked by one parent process."""
    key = "|".join((*identity, str(os.getppid()))).encode()
    digest = hashlib.blake2b(key, digest_size=12).hexdigest()
    user = getattr(os, "getuid", lambda: 0)()  # no uid on Windows; the directory is per user there
    return os.path.join(tempfile.gettempdir(), f"pyregistry-upstream-{user}-{digest}.json")


class CircuitBreaker:
    """Whether the upstream may be asked now; what happened when it was."""

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        base: float = 5.0,
        max_backoff: float = 300.0,
        state_path: str | None = None,
    ) -> None:
        self._clock = clock
        self._base = base
        self._max_backoff = max_backoff
        self._path = state_path
        self._lock = threading.Lock()
        self._state = BreakerState()
        self._seen_mtime: float | None = None
        self._probing = False

    def state(self) -> BreakerState:
        """The current state (the replica's, when a state file is shared)."""
        with self._lock:
            self._load()
            return self._state

    def allow(self) -> bool:
        """Whether a request may go upstream now: closed, or the one half-open probe."""
        with self._lock:
            self._load()
            if self._state.failures == 0:
                return True
            if self._clock() < self._state.open_until or self._probing:
                return False
            self._probing = True
            return True

    def retry_in(self) -> float:
        """Seconds until the circuit half-opens (0 when it is closed)."""
        return max(0.0, self.state().open_until - self._clock())

    def success(self) -> None:
        """The upstream answered: close the circuit."""
        with self._lock:
            self._probing = False
            now = self._clock()
            if self._state.failures:
                log.warning("upstream reachable again after %d failures", self._state.failures)
            self._save(BreakerState(last_ok=now, updated=now), changed=self._state.failures != 0)

    def failure(self, message: str) -> None:
        """The upstream failed: open the circuit for the next backoff."""
        with self._lock:
            self._probing = False
            self._load()
            now = self._clock()
            failures = self._state.failures + 1
            backoff = min(self._base * 2 ** min(failures - 1, 30), self._max_backoff)
            state = BreakerState(failures, now + backoff, message, self._state.last_ok, now)
            log.warning(
                "upstream failed (%d in a row), not asked again for %.0f s: %s", failures, backoff, message
            )
            self._save(state, changed=True)

    def _load(self) -> None:
        """Adopt the replica's state file when another worker changed it."""
        if self._path is None:
            return
        try:
            mtime = os.stat(self._path).st_mtime
            if mtime == self._seen_mtime:
                return
            with open(self._path, encoding="utf-8") as handle:
                raw = json.load(handle)
            loaded = BreakerState(
                **{a.name: raw[a.name] for a in attrs.fields(BreakerState) if a.name in raw}
            )
        except (OSError, ValueError, TypeError):
            return
        self._seen_mtime = mtime
        if loaded.updated <= self._clock() and loaded.updated >= self._state.updated:
            self._state = loaded

    def _save(self, state: BreakerState, *, changed: bool) -> None:
        self._state = state
        if self._path is None or not changed:
            return
        try:
            handle, temporary = tempfile.mkstemp(dir=os.path.dirname(self._path), prefix=".upstream-")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(attrs.asdict(state), out)
            os.replace(temporary, self._path)
            self._seen_mtime = os.stat(self._path).st_mtime
        except OSError as exc:  # the state still holds in this process
            log.warning("could not share the upstream state in %s: %s", self._path, exc)
            with contextlib.suppress(OSError, UnboundLocalError):
                os.unlink(temporary)
