"""Caches shared by the server's threads: no KeyError when an entry expires mid-lookup, one
slow load per key however many threads ask at once."""

from __future__ import annotations

import base64
import itertools
import sys
import threading
from collections.abc import Iterator

import pytest
from access_helpers import fast_hash

from pyregistry_core.acl import Identity
from pyregistry_core.auth.authenticator import Authenticator
from pyregistry_core.auth.tokens import TokenStore
from pyregistry_core.shared_cache import SharedTTLCache
from pyregistry_core.storage import FsspecStorage
from pyregistry_core.upstream.client import UpstreamProject
from pyregistry_core.upstream.mirror import Mirror


def _ticking(step: float = 1.0) -> Iterator[float]:
    return (n * step for n in itertools.count())


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
def fast_switching() -> Iterator[None]:
    """Let threads switch as often as possible, so races show within few rounds."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(previous)


def test_token_verify_survives_expiry_between_check_and_read():
    """A token whose cache entry expires between lookup steps is reloaded, never a KeyError."""
    ticks = _ticking()
    store = TokenStore(FsspecStorage("memory://tokens"), ttl=5, timer=lambda: next(ticks))
    token, secret = store.create("alice")
    for _ in range(50):  # every tick is one timer call, so some lookup straddles the expiry
        verified = store.verify(secret)
        assert verified is not None
        assert verified.id == token.id


def test_shared_cache_lookup_straddling_expiry_is_a_miss():
    """With a clock that moves on every call, a value is either served or reloaded."""
    ticks = _ticking()
    cache: SharedTTLCache[str, int] = SharedTTLCache(10, ttl=3, timer=lambda: next(ticks))
    loads = []
    for _ in range(40):
        assert cache.get_or_load("k", lambda: loads.append(1) or 7) == 7
    assert 1 < len(loads) < 40


@pytest.mark.usefixtures("fast_switching")
def test_mirror_negative_cache_under_many_threads():
    """Many threads recording and expiring upstream 404s for many names at once never raise."""

    class Nothing:
        origins = ()

        def project(self, name: str) -> UpstreamProject | None:
            return None

    ticks = _ticking(0.01)
    lock = threading.Lock()

    def clock() -> float:
        with lock:
            return next(ticks)

    mirror = Mirror(Nothing(), FsspecStorage("memory://mirror"), ttl=60, negative_ttl=0.05, clock=clock)  # type: ignore[arg-type]
    errors: list[BaseException] = []

    def worker(offset: int) -> None:
        try:
            for round_ in range(300):
                assert mirror.listing(f"p{(offset + round_) % 17}") is None
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors[:3]


class _CountingAuthenticator(Authenticator):
    """Counts password verifications; the first one waits until every caller could have started one."""

    def __init__(self, callers: int, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.calls = 0
        self._callers = callers
        self._guard = threading.Lock()
        self._all_in = threading.Event()

    def _verify(self, username: str, password: str) -> Identity | None:
        with self._guard:
            self.calls += 1
            if self.calls == self._callers:
                self._all_in.set()
        # Coalesced, nobody else gets here and this wait runs out; uncoalesced, every
        # caller arrives and releases it. Either way the outcome is the count, not the clock.
        self._all_in.wait(timeout=2)
        return super()._verify(username, password)


@pytest.mark.parametrize("password", ["right", "wrong"])
def test_first_verification_is_coalesced_per_credential(password):
    """Eight concurrent first requests with one credential cost one password verification."""
    callers = 8
    authenticator = _CountingAuthenticator(callers, users={"alice": fast_hash("right")}, groups={})
    header = _basic("alice", password)
    start = threading.Barrier(callers)
    results: list[object] = []

    def request() -> None:
        start.wait(timeout=30)
        try:
            results.append(authenticator.authenticate(header))
        except Exception as exc:
            results.append(type(exc).__name__)

    threads = [threading.Thread(target=request) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert authenticator.calls == 1
    expected = Identity(user="alice") if password == "right" else "BadCredentials"
    assert results == [expected] * callers


def test_different_credentials_do_not_wait_for_each_other():
    """Coalescing is per credential: two users each get their own verification."""
    authenticator = Authenticator({"alice": fast_hash("a"), "bob": fast_hash("b")}, {})
    assert authenticator.authenticate(_basic("alice", "a")).user == "alice"
    assert authenticator.authenticate(_basic("bob", "b")).user == "bob"
    assert authenticator.verifications == 2
