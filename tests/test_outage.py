"""Upstream outages cost the clients nothing when a stale copy exists and one bounded
timeout when none does: stale-while-revalidate, one fetch per project in a bounded pool,
and a failing upstream remembered per replica (mirror.py, fetcher.py, breaker.py)."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cache_mode import START, FakeClock, cache_mode_config, release_upstream
from registry_http import SIMPLE_JSON, body_bytes, send, text
from upstream_app import UpstreamIndex

from pyregistry_core import Registry, Settings
from pyregistry_core.names import NormalizedName
from pyregistry_core.storage import LocalStorage
from pyregistry_core.upstream.breaker import CircuitBreaker
from pyregistry_core.upstream.mirror import Listing, Mirror
from pyregistry_core.upstream.project import UpstreamProject

BURST = 12
ROUNDS = 5


@pytest.fixture
def upstream() -> Iterator[UpstreamIndex]:
    """An upstream index with ufo-core 1.0 (wheel + sdist) and acme 1.0."""
    with UpstreamIndex() as index:
        index.add("ufo-core", "1.0")
        index.add("acme", "1.0")
        yield index


RegistryFactory = Callable[..., Registry]


@pytest.fixture
def make_registry(upstream: UpstreamIndex, clock: FakeClock, tmp_path: Path) -> Iterator[RegistryFactory]:
    """Cache-mode registries ("workers" of one replica) on one store, with ``upstream``."""
    made: list[Registry] = []

    def factory(**settings: str) -> Registry:
        mapping = {
            **cache_mode_config(upstream, tmp_path / "store"),
            "pypi.upstream_timeout": "5",
            **{key.replace("__", "."): value for key, value in settings.items()},
        }
        registry = Registry(Settings.from_mapping(mapping), wall_clock=clock)
        made.append(registry)
        return registry

    yield factory
    upstream.stop()  # wakes every hanging answer
    for registry in made:
        assert registry.mirror is not None
        registry.mirror.settle(60)
    release_upstream(made)


def page_files(registry: Registry, project: str) -> tuple[int, list[str]]:
    """Status and listed filenames of a project page."""
    response = send(registry, "GET", f"/simple/{project}/", headers={"Accept": SIMPLE_JSON})
    if response.status != 200:
        return response.status, []
    return 200, sorted(f["filename"] for f in json.loads(body_bytes(response))["files"])


def burst(registry: Registry, project: str, count: int = BURST) -> list[tuple[int, list[str]]]:
    """``count`` concurrent page requests."""
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda _: page_files(registry, project), range(count)))


def test_stale_copy_is_served_to_a_burst_while_the_upstream_hangs(
    make_registry: RegistryFactory, upstream: UpstreamIndex, clock: FakeClock
) -> None:
    """Past the TTL, a burst against a hanging upstream gets the last listing and makes one
    upstream request per round, however many requests there are."""
    registry = make_registry()
    before = page_files(registry, "ufo-core")
    assert before[0] == 200
    for round_ in range(ROUNDS):
        clock.advance(3600)  # the listing is stale and any backoff is over
        upstream.faults.delay = 3600  # the upstream hangs until stop()
        requests_before = upstream.page_requests("ufo-core")
        assert burst(registry, "ufo-core") == [before] * BURST
        upstream.stop()
        assert registry.mirror is not None
        assert registry.mirror.settle(60)
        assert upstream.page_requests("ufo-core") - requests_before <= 1
        assert registry.mirror.breaker.state().failures == round_ + 1
        upstream.faults.delay = 0
        upstream.start()


def test_cold_burst_against_a_hanging_upstream_makes_one_request(
    make_registry: RegistryFactory, upstream: UpstreamIndex
) -> None:
    """With no copy anywhere, a burst shares one fetch: one upstream request, every answer a 502."""
    registry = make_registry(pypi__upstream_timeout="1")
    upstream.faults.delay = 3600
    replies = burst(registry, "ufo-core", 8)
    assert {status for status, _ in replies} == {502}
    assert upstream.page_requests("ufo-core") == 1
    # Remembered: the next request is answered without asking again.
    response = send(registry, "GET", "/simple/acme/")
    assert response.status == 502
    assert text(response).startswith(
        "The upstream index failed: the upstream is failing; not asked again for 5 s"
    )
    assert upstream.page_requests("acme") == 0


def test_backoff_doubles_and_the_circuit_half_opens(
    make_registry: RegistryFactory, upstream: UpstreamIndex, clock: FakeClock
) -> None:
    """A failing upstream is not asked for 5 s, then once (half-open), then not for 10 s; a
    success closes the circuit."""
    registry = make_registry()
    upstream.faults.status = 500
    assert page_files(registry, "ufo-core")[0] == 502
    assert upstream.page_requests("ufo-core") == 1
    response = send(registry, "GET", "/simple/ufo-core/")
    assert text(response) == (
        "The upstream index failed: the upstream is failing; not asked again for 5 s "
        "(last error: upstream answered 500 for 'ufo-core')\n"
    )
    clock.advance(4.9)
    assert page_files(registry, "ufo-core")[0] == 502
    assert upstream.page_requests("ufo-core") == 1
    clock.advance(0.1)  # half-open: one probe, which fails
    assert page_files(registry, "ufo-core")[0] == 502
    assert upstream.page_requests("ufo-core") == 2
    clock.advance(9.9)
    assert page_files(registry, "ufo-core")[0] == 502
    assert upstream.page_requests("ufo-core") == 2
    upstream.faults.status = None
    clock.advance(0.1)
    assert page_files(registry, "ufo-core") == (
        200,
        ["ufo_core-1.0-py3-none-any.whl", "ufo_core-1.0.tar.gz"],
    )
    assert page_files(registry, "acme")[0] == 200  # closed again


def test_workers_of_a_replica_share_the_upstream_state(
    make_registry: RegistryFactory, upstream: UpstreamIndex
) -> None:
    """An outage one worker found is known to the others: they do not ask, and /health says so."""
    first, second = make_registry(), make_registry()
    upstream.faults.status = 503
    assert page_files(first, "ufo-core")[0] == 502
    assert page_files(second, "acme")[0] == 502
    assert upstream.page_requests("acme") == 0
    health = json.loads(body_bytes(send(second, "GET", "/health")))
    assert health["status"] == "ok"
    assert health["upstream"]["reachable"] is False
    assert health["upstream"]["failures"] == 1
    assert health["upstream"]["last_error"] == "upstream answered 503 for 'ufo-core'"


def test_breaker_state_from_a_clock_ahead_is_ignored(tmp_path: Path) -> None:
    """A state file written by a clock ahead of ours (another run) opens no circuit here."""
    path = str(tmp_path / "state.json")
    ahead = CircuitBreaker(lambda: START + 10_000, state_path=path)
    ahead.failure("down")
    here = CircuitBreaker(lambda: START, state_path=path)
    assert here.allow()
    assert here.state().failures == 0


def test_a_file_listed_by_another_workers_newer_listing_is_served(
    make_registry: RegistryFactory, upstream: UpstreamIndex, clock: FakeClock
) -> None:
    """A worker whose listing is stale serves a file that another worker's refreshed page
    listed (the stored listing decides), rather than a 404."""
    first, second = make_registry(), make_registry()
    assert page_files(first, "ufo-core")[0] == page_files(second, "ufo-core")[0] == 200
    (new,) = upstream.add("ufo-core", "2.0", kinds=("wheel",))
    clock.advance(3600)
    assert new.filename not in page_files(first, "ufo-core")[1]  # stale, refreshing
    assert first.mirror is not None
    assert first.mirror.settle(60)
    assert new.filename in page_files(first, "ufo-core")[1]
    response = send(second, "GET", f"/files/ufo-core/{new.sha256}/{new.filename}.metadata")
    assert (response.status, body_bytes(response)) == (200, new.metadata)


def test_a_full_fetch_queue_refuses_instead_of_queueing(
    make_registry: RegistryFactory, upstream: UpstreamIndex
) -> None:
    """With the fetch queue full (one slot here), a name with no listing is a 502 at once,
    and the upstream is not asked."""
    registry = make_registry()
    assert registry.mirror is not None
    registry.mirror._fetcher._max_queued = 1
    upstream.faults.delay = 3600
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(page_files, registry, "ufo-core")
        for _ in range(400):  # bounded: until the first fetch reached the upstream
            if upstream.page_requests("ufo-core"):
                break
            threading.Event().wait(0.05)
        response = send(registry, "GET", "/simple/acme/")
        assert (response.status, text(response)) == (
            502,
            "The upstream index failed: too many upstream requests are in flight; try again shortly\n",
        )
        assert upstream.page_requests("acme") == 0
        upstream.stop()  # the first request's fetch fails now
        assert first.result()[0] == 502


def test_listings_remembered_by_many_threads_stay_bounded_and_never_raise(tmp_path: Path) -> None:
    """Threads remembering more listings than the bound at once (a proxy of many projects)
    never see "dictionary changed size" or a vanished key, and the bound holds (20 rounds,
    thread switches forced often)."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for _ in range(20):
            mirror = Mirror(None, LocalStorage(str(tmp_path)), ttl=600, negative_ttl=60, max_listings=50)  # type: ignore[arg-type]
            errors: list[str] = []

            def remember(thread: int, mirror: Mirror = mirror, errors: list[str] = errors) -> None:
                try:
                    for i in range(500):
                        listing = Listing(UpstreamProject(f"p{thread}-{i}", ()), START)
                        assert mirror._remember(NormalizedName(f"p{thread}-{i}"), listing) is listing
                except Exception as exc:
                    errors.append(repr(exc))

            threads = [threading.Thread(target=remember, args=(t,)) for t in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
            assert errors == []
            assert len(mirror._fresh) <= 50
    finally:
        sys.setswitchinterval(previous)
