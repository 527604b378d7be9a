"""Check rounds: requests on the event loop that need one snapshot revalidated share one check.

With ``pypi.index_ttl = 0`` on a remote store, every warm page needs a conditional request
to the store before it may be answered. Sending each request to a thread to make its own
costs a thread hop and a storage request per page; many requests for one page arrive
together, so one check can serve them all.

Invariants (those of the core's ``SharedChecks``, for coroutines):
1. Read-your-writes: a caller only ever returns from a round that STARTED AFTER the
   caller arrived, so a snapshot that round validated has seen every write acknowledged
   before the caller arrived. A caller arriving while a round runs waits for the next one.
2. Per key at most one round runs and at most one waits, whatever the number of callers;
   the waiting one starts when the running one ends (or, with none running, on the
   loop's next turn) and serves everyone queued until then.
3. A round's outcome reaches all its callers: an error is raised to each of them, and
   the next caller starts a new round. A round runs as its own task, so a caller that is
   cancelled (its client went away) cancels neither the round nor the other callers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable

__all__ = ["CheckRounds"]

Check = Callable[[], Awaitable[object]]


class _Round:
    """One check and the callers waiting for it: ``outcome`` is what it returned, or raised."""

    def __init__(self, check: Check) -> None:
        self.check = check
        self.outcome: asyncio.Future[tuple[object, BaseException | None]] = (
            asyncio.get_running_loop().create_future()
        )


class CheckRounds:
    """Runs a key's check in rounds shared by the callers that arrived before it started."""

    def __init__(self) -> None:
        self._running: dict[Hashable, _Round] = {}
        self._queued: dict[Hashable, _Round] = {}
        self._tasks: set[asyncio.Future[object]] = set()  # the loop keeps only weak references
        self.rounds = 0  # rounds started
        self.joined = 0  # callers served by a round another caller asked for

    async def run(self, key: Hashable, check: Check) -> object:
        """What ``check()`` returned (or raised) in a round that started after this call began."""
        mine = self._queued.get(key)
        if mine is not None:
            self.joined += 1  # queued, so not started yet: fresh enough (invariant 1)
        else:
            mine = _Round(check)
            self._queued[key] = mine
            running = self._running.get(key)
            if running is None:
                # Started on the loop's next turn, so requests that arrived together (read in
                # one turn of the server's connections) join it rather than a round after it.
                asyncio.get_running_loop().call_soon(self._start, key, mine)
            else:
                running.outcome.add_done_callback(lambda _: self._start(key, mine))
        value, error = await asyncio.shield(mine.outcome)
        if error is not None:
            raise error
        return value

    def _start(self, key: Hashable, round_: _Round) -> None:
        if self._queued.get(key) is round_:
            del self._queued[key]  # no one joins once it may have started
        self._running[key] = round_
        self.rounds += 1
        task = asyncio.ensure_future(round_.check())
        self._tasks.add(task)
        task.add_done_callback(lambda done: self._finish(key, round_, done))

    def _finish(self, key: Hashable, round_: _Round, task: asyncio.Future[object]) -> None:
        self._tasks.discard(task)
        if self._running.get(key) is round_:
            del self._running[key]
        if task.cancelled():
            round_.outcome.set_result((None, RuntimeError("the check was cancelled")))
        elif task.exception() is not None:
            round_.outcome.set_result((None, task.exception()))
        else:
            round_.outcome.set_result((task.result(), None))
