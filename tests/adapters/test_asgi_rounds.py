"""The ASGI adapter's check rounds (``_rounds.CheckRounds``): a caller is served only by a
round that started after it arrived, per key one round runs and one waits, and a round's
outcome, error included, reaches all its callers."""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from collections.abc import Awaitable, Callable

import pytest
from pyregistry_asgi._rounds import CheckRounds

ROUNDS = 300  # random schedules tried by each race test


class Failed(Exception):
    """A check that failed; ``started`` says when it started."""

    def __init__(self, started: int) -> None:
        super().__init__(f"round started at {started} failed")
        self.started = started


class Schedule:
    """A logical clock on the event loop, and a log of when each key's rounds started."""

    def __init__(self) -> None:
        self.tick = 0
        self.starts: dict[str, list[int]] = defaultdict(list)
        self.running: dict[str, int] = defaultdict(int)
        self.most_running = 0

    def now(self) -> int:
        self.tick += 1
        return self.tick

    def check(self, key: str, steps: int, fails: bool) -> Callable[[], Awaitable[object]]:
        """A check of ``key`` that takes ``steps`` turns of the loop; returns (or raises
        with) the tick the round started at (when it was called: its I/O starts later)."""

        def start() -> Awaitable[object]:
            started = self.now()
            self.starts[key].append(started)
            return run(started)

        async def run(started: int) -> object:
            self.running[key] += 1
            self.most_running = max(self.most_running, self.running[key])
            for _ in range(steps):
                await asyncio.sleep(0)
            self.running[key] -= 1
            if fails:
                raise Failed(started)
            return started

        return start


async def _caller(
    rounds: CheckRounds, schedule: Schedule, key: str, delay: int, rng: random.Random
) -> tuple[str, int, int]:
    """Arrive after ``delay`` turns of the loop; (key, arrival tick, start tick of the round served)."""
    for _ in range(delay):
        await asyncio.sleep(0)
    arrived = schedule.now()
    check = schedule.check(key, rng.randrange(0, 6), rng.random() < 0.2)
    try:
        started = await rounds.run(key, check)
    except Failed as failed:
        started = failed.started
    assert isinstance(started, int)
    return key, arrived, started


async def _scenario(schedule: Schedule, rng: random.Random) -> list[tuple[str, int, int]]:
    """Up to 30 callers of two keys arriving at random turns of the loop."""
    rounds = CheckRounds()
    callers = [
        _caller(rounds, schedule, rng.choice("ab"), rng.randrange(0, 20), rng)
        for _ in range(rng.randrange(1, 30))
    ]
    return await asyncio.gather(*callers)


def test_each_caller_is_served_by_the_first_round_that_started_after_it_arrived():
    """Over many random schedules of callers, check lengths and failures on two keys, each
    caller gets the outcome (value or error) of the first round of its key that started
    after it arrived, and never do two rounds of one key run at once."""
    for seed in range(ROUNDS):
        rng = random.Random(seed)  # noqa: S311 - a reproducible schedule, not a secret
        schedule = Schedule()
        served = asyncio.run(_scenario(schedule, rng))
        for key, arrived, started in served:
            first_after = min(s for s in schedule.starts[key] if s > arrived)
            assert started == first_after, (seed, key, arrived, schedule.starts[key])
        assert schedule.most_running == 1, seed


def test_a_caller_arriving_while_a_round_runs_waits_for_the_next_one():
    """A caller that arrives while a round runs is not given that round's outcome: a
    second round starts once the first ends, and serves every caller who came meanwhile."""

    async def scenario() -> tuple[list[object], int, int]:
        rounds = CheckRounds()
        events = [asyncio.Event(), asyncio.Event()]
        calls: list[int] = []

        def check(number: int) -> Callable[[], Awaitable[object]]:
            async def run() -> object:
                calls.append(number)
                await events[len(calls) - 1].wait()
                return len(calls)

            return run

        first = asyncio.ensure_future(rounds.run("k", check(0)))
        for _ in range(10):  # the caller's turn, then the round's
            await asyncio.sleep(0)
        assert calls == [0]  # the first round runs
        later = [asyncio.ensure_future(rounds.run("k", check(n))) for n in range(1, 6)]
        for _ in range(10):
            await asyncio.sleep(0)
        assert calls == [0]  # the others wait for the next round, which has not started
        events[0].set()
        events[1].set()
        results = await asyncio.gather(first, *later)
        return results, rounds.rounds, rounds.joined

    results, started, joined = asyncio.run(scenario())
    assert results == [1, 2, 2, 2, 2, 2]
    assert (started, joined) == (2, 4)


def test_an_error_reaches_every_caller_of_its_round_and_the_next_caller_starts_anew():
    """A round that raises raises to each of its callers; the next caller starts a new
    round, which runs."""

    async def scenario() -> tuple[list[BaseException | object], object]:
        rounds = CheckRounds()
        gate = asyncio.Event()

        async def failing() -> object:
            await gate.wait()
            raise OSError("storage failed")

        async def working() -> object:
            return "fresh"

        callers = [asyncio.ensure_future(rounds.run("k", failing)) for _ in range(4)]
        await asyncio.sleep(0)
        gate.set()
        outcomes = await asyncio.gather(*callers, return_exceptions=True)
        return outcomes, await rounds.run("k", working)

    outcomes, after = asyncio.run(scenario())
    assert [type(o) for o in outcomes] == [OSError] * 4
    assert [str(o) for o in outcomes] == ["storage failed"] * 4
    assert after == "fresh"


def test_a_cancelled_caller_cancels_neither_the_round_nor_the_other_callers():
    """The caller whose arrival started a round goes away (its client left): the round
    still runs to its end and serves the others."""

    async def scenario() -> tuple[bool, object]:
        rounds = CheckRounds()
        gate = asyncio.Event()

        async def check() -> object:
            await gate.wait()
            return "done"

        starter = asyncio.ensure_future(rounds.run("k", check))
        await asyncio.sleep(0)
        other = asyncio.ensure_future(rounds.run("k", check))
        await asyncio.sleep(0)
        starter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await starter
        gate.set()
        return starter.cancelled(), await other

    assert asyncio.run(scenario()) == (True, "done")
