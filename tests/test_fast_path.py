"""The non-blocking fast path (``handle_cached``): what it answers is what ``handle``
answers, and it never touches storage beyond one local ``stat``, never verifies a
password, and never waits for a lock."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import pyregistry_asgi
import pytest
from access_helpers import basic, fast_hash
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from registry_http import SIMPLE_JSON, make_wheel, send, upload
from s3_server import Bucket
from strategies import accept_headers

from pyregistry_core import Identity, Registry, Request, Response, handle_cached
from pyregistry_core.storage.fsspec_store import _CREATE_LOCK
from pyregistry_core.web.handle import handle_uncached

ROOT_URL = "http://testserver"
OPEN = {"pypi.default_write": "everyone"}


class Tripwire:
    """A storage wrapper that records every call and, once armed, refuses all but ``allowed``."""

    def __init__(self, storage: Any) -> None:
        self.storage = storage
        self.calls: list[str] = []
        self.threads: list[threading.Thread] = []
        self.allowed: frozenset[str] | None = None  # None: not armed

    def arm(self, *allowed: str) -> None:
        """From now on record calls, and fail any not named in ``allowed``."""
        self.calls.clear()
        self.threads.clear()
        self.allowed = frozenset(allowed)

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Let the ordinary path use the store freely for a while."""
        allowed, self.allowed = self.allowed, None
        try:
            yield
        finally:
            self.allowed = allowed

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.storage, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            if self.allowed is not None:
                self.calls.append(name)
                self.threads.append(threading.current_thread())
                assert name in self.allowed, f"the fast path called storage.{name}"
            return attribute(*args, **kwargs)

        return call


class WouldWait:
    """A lock that is always taken by someone else: acquiring it without waiting fails,
    and waiting for it fails the test (instead of hanging it)."""

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        assert not blocking, "the fast path waited for a lock"
        return False

    def release(self) -> None:
        raise AssertionError("released a lock never acquired")

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def get(path: str, headers: Mapping[str, str] | None = None, **kwargs: Any) -> Request:
    """A GET as an adapter hands it to the core."""
    path, _, query = path.partition("?")
    params = dict(part.split("=", 1) for part in query.split("&") if "=" in part)
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    return Request(kwargs.pop("method", "GET"), path, params, lowered, root_url=ROOT_URL, **kwargs)


def tripwired(
    config: Mapping[str, str], clock: Callable[[], float] | None = None
) -> tuple[Registry, Tripwire]:
    """A registry on the store ``config`` names, every storage call going through a ``Tripwire``."""
    plain = Registry.from_config(config)
    wire = Tripwire(plain.storage)
    extra = {"clock": clock} if clock is not None else {}
    return Registry(plain.settings, wire, **extra), wire  # type: ignore[arg-type]


@pytest.fixture
def local(tmp_path: Path) -> tuple[Registry, Tripwire]:
    """A registry on a local directory holding demo 1.0, its pages warm."""
    registry, wire = tripwired({"storage.dir": str(tmp_path / "packages"), **OPEN})
    assert upload(registry, make_wheel("demo", "1.0")).status == 200
    for accept in (None, SIMPLE_JSON):
        for path in ("/simple/", "/simple/demo/"):
            assert send(registry, "GET", path, headers={"Accept": accept} if accept else None).status == 200
    for path in ("/pypi/demo/json", "/pypi/demo/1.0/json"):
        assert send(registry, "GET", path).status == 200
    return registry, wire


def same(registry: Registry, wire: Tripwire, request: Request) -> Response:
    """The fast path answers ``request`` (under the tripwire), exactly as the ordinary path does."""
    cached = handle_cached(registry, request)
    assert cached is not None
    with wire.paused():
        assert cached == handle_uncached(registry, request)
    return cached


@pytest.mark.parametrize("path", ["/simple/", "/simple/demo/", "/simple/demo/?format=" + SIMPLE_JSON])
@pytest.mark.parametrize("accept", [None, SIMPLE_JSON, "text/html"])
def test_warm_local_pages_cost_one_stat(local: tuple[Registry, Tripwire], path: str, accept: str | None):
    """A warm page on local storage is answered with one stat of its document, byte for
    byte as the ordinary path answers it."""
    registry, wire = local
    wire.arm("document_version")
    assert same(registry, wire, get(path, {"Accept": accept} if accept else None)).status == 200
    assert wire.calls == ["document_version"]


def test_304_head_and_redirects(local: tuple[Registry, Tripwire]):
    """If-None-Match gives the 304, HEAD the headers without a body, other spellings
    their redirect, each for no storage call beyond the one stat."""
    registry, wire = local
    page = handle_cached(registry, get("/simple/demo/"))
    assert page is not None
    etag = page.header("etag") or ""
    wire.arm("document_version")
    not_modified = same(registry, wire, get("/simple/demo/", {"If-None-Match": etag}))
    assert (not_modified.status, not_modified.body, not_modified.header("etag")) == (304, b"", etag)
    head = same(registry, wire, get("/simple/demo/", method="HEAD"))
    assert (head.status, head.body, head.headers) == (200, b"", page.headers)
    for path, location in [
        ("/simple", "/simple/"),
        ("/simple/Demo/", "/simple/demo/"),
        ("/simple/demo", "/simple/demo/"),
        ("/simple/Demo?format=text/html", "/simple/demo/?format=text%2Fhtml"),
    ]:
        redirect = same(registry, wire, get(path))
        assert (redirect.status, redirect.header("location")) == (301, location)
    assert wire.calls == ["document_version"] * 2


def test_json_api_and_health(local: tuple[Registry, Tripwire]):
    """The JSON API of a project and of a release, once built, and /health on local
    storage are answered for one stat each, as the ordinary path answers them."""
    registry, wire = local
    wire.arm("document_version", "probe")
    for path in ("/pypi/demo/1.0.0/json", "/pypi/demo/2.0/json", "/pypi/other/json"):
        assert handle_cached(registry, get(path)) is None  # never built, or a 404
    with wire.paused():
        assert send(registry, "GET", "/pypi/demo/1.0.0/json").status == 200
    wire.arm("document_version", "probe")
    for path in ("/pypi/demo/json", "/pypi/demo/1.0/json", "/pypi/demo/1.0.0/json/"):
        answer = same(registry, wire, get(path))
        assert (answer.status, answer.header("content-type")) == (200, "application/json")
    redirect = same(registry, wire, get("/pypi/Demo/1.0/json"))
    assert (redirect.status, redirect.header("location")) == (301, "/pypi/demo/1.0/json")
    health = same(registry, wire, get("/health"))
    assert (health.status, health.body) == (
        200,
        b'{"status": "ok", "storage": "ok", "upstream": {"configured": false}}',
    )
    assert wire.calls == ["document_version"] * 3 + ["probe"]  # the redirect needs none


def asgi_get(app: Any, path: str) -> tuple[int, bytes]:
    """GET ``path`` from an ASGI app on an event loop in this thread; status and body."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": path, "root_path": "", "query_string": b""}
    asyncio.run(app({**scope, "headers": [(b"host", b"testserver")], "scheme": "http"}, receive, send))
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def test_asgi_answers_warm_pages_on_the_event_loop(local: tuple[Registry, Tripwire]):
    """Through the ASGI adapter a warm page's one stat happens on the event loop's own
    thread (no hop to a worker), while a page that needs storage is read in another."""
    registry, wire = local
    app = pyregistry_asgi.make_app(registry)
    expected = handle_uncached(registry, get("/simple/demo/")).body
    wire.arm("document_version")
    assert asgi_get(app, "/simple/demo/") == (200, expected)
    assert wire.threads == [threading.current_thread()]
    wire.arm("document_version", "read_document", "list_records", "read_record", "read_records")
    assert asgi_get(app, "/simple/other/")[0] == 404
    assert "read_document" in wire.calls
    assert threading.current_thread() not in wire.threads[wire.calls.index("read_document") :]


def test_cold_changed_or_refused_is_none(local: tuple[Registry, Tripwire], tmp_path: Path):
    """A page never read, one another process changed, an error, or any method but
    GET/HEAD is None (``handle`` answers it)."""
    registry, wire = local
    wire.arm("document_version")
    assert handle_cached(registry, get("/simple/other/")) is None  # never read
    assert handle_cached(registry, get("/simple/demo/", {"Accept": "text/plain"})) is None  # a 406
    assert handle_cached(registry, get("/files/demo/x/y.whl")) is None
    assert handle_cached(registry, get("/simple/demo/", method="POST")) is None
    other = Registry.from_config({"storage.dir": str(tmp_path / "packages"), **OPEN})
    assert upload(other, make_wheel("demo", "2.0")).status == 200  # another process writes
    assert handle_cached(registry, get("/simple/demo/")) is None
    assert handle_cached(registry, get("/simple/")) is not None  # the project list did not change
    assert set(wire.calls) == {"document_version"}
    with wire.paused():
        assert b"demo-2.0-py3-none-any.whl" in send(registry, "GET", "/simple/demo/").body  # type: ignore[operator]
    assert same(registry, wire, get("/simple/demo/")).status == 200


def test_credentials_only_when_already_verified(tmp_path: Path):
    """Basic credentials are answered only once the ordinary path verified them; a wrong
    password, an unknown user or a token is never verified here; an app's identity is
    taken as it is."""
    config = {
        "storage.dir": str(tmp_path / "packages"),
        "user.alice": fast_hash("secret"),
        "pypi.default_read": "authenticated",
        "pypi.default_write": "authenticated",
    }
    registry, wire = tripwired(config)
    alice = {"Authorization": basic("alice", "secret")}
    assert upload(registry, make_wheel("demo", "1.0"), headers=alice).status == 200
    assert send(registry, "GET", "/simple/demo/", headers=alice).status == 200
    verified = registry.authenticator.verifications
    wire.arm("document_version")
    for header in (basic("alice", "wrong"), basic("mallory", "x"), basic("__token__", "pyreg-x"), "Bearer x"):
        assert handle_cached(registry, get("/simple/demo/", {"Authorization": header})) is None
    assert handle_cached(registry, get("/simple/demo/")) is None  # anonymous: a 401
    assert registry.authenticator.verifications == verified
    answer = same(registry, wire, get("/simple/demo/", alice))
    assert (answer.status, answer.header("cache-control")) == (200, "max-age=0, must-revalidate, private")
    assert answer.header("vary") == "Accept, Accept-Encoding, Authorization"
    assert same(registry, wire, get("/simple/demo/", identity=Identity(user="alice"))).status == 200


def test_object_storage_needs_a_request_unless_young():
    """On a store without a local stat (fsspec memory), index_ttl 0 means every page
    needs a storage request (None); a positive TTL answers while young, with no call."""
    clock = Clock()
    for ttl in ("0", "60"):
        config = {"storage.url": f"memory://fast-{ttl}", "pypi.index_ttl": ttl, **OPEN}
        registry, wire = tripwired(config, clock)
        assert upload(registry, make_wheel("demo", "1.0")).status == 200
        assert send(registry, "GET", "/simple/demo/").status == 200
        wire.arm()
        if ttl == "0":
            assert handle_cached(registry, get("/simple/demo/")) is None
        else:
            assert same(registry, wire, get("/simple/demo/")).status == 200
            clock.now += 61
            assert handle_cached(registry, get("/simple/demo/")) is None
        assert handle_cached(registry, get("/health")) is None  # its probe is a storage request
        assert wire.calls == []


def test_s3_index_ttl_zero_is_none(s3_bucket: Bucket):
    """On S3 with index_ttl 0 a warm page still needs its conditional GET (None, and not
    one S3 call); with a positive TTL it is answered while young, with none either."""
    for ttl in ("0", "3600"):
        registry, wire = tripwired(s3_bucket.url_config(**OPEN, **{"pypi.index_ttl": ttl}))
        assert upload(registry, make_wheel("demo", f"{ttl}.1")).status == 200
        assert send(registry, "GET", "/simple/demo/").status == 200
        wire.arm()
        if ttl == "0":
            assert handle_cached(registry, get("/simple/demo/")) is None
        else:
            assert same(registry, wire, get("/simple/demo/")).status == 200
        assert wire.calls == []


def test_never_waits_for_a_lock():
    """Locks that I/O holds (the generic store's read/write lock, the upstream's per-key
    locks, a password verification in progress), held by another thread, do not stop
    it; locks it does take are only tried, never waited for (None instead)."""
    config = {
        "storage.url": "memory://fast-locks",
        "pypi.index_ttl": "60",
        "pypi.fallback": "redirect",
        "pypi.fallback_base_url": "http://upstream.invalid/simple/",
        **OPEN,
    }
    registry, wire = tripwired(config, Clock())
    assert upload(registry, make_wheel("demo", "1.0")).status == 200
    for path in ("/simple/", "/simple/demo/", "/simple/elsewhere/"):
        assert send(registry, "GET", path).status in (200, 302)
    assert registry.mirror is not None
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with (
            _CREATE_LOCK,
            registry.mirror.locks.hold("demo"),  # type: ignore[union-attr]
            registry.mirror.locks.hold("page:demo"),  # type: ignore[union-attr]
            registry.authenticator._cache._loading.hold(b"any"),
        ):
            holding.set()
            release.wait()

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait()
    try:
        wire.arm()
        for path in ("/simple/", "/simple/demo/", "/simple/elsewhere/"):
            answer = same(registry, wire, get(path, {"Authorization": basic("", "")}))
            assert answer.status == (302 if path == "/simple/elsewhere/" else 200)
    finally:
        release.set()
        holder.join()
    assert handle_cached(registry, get("/health")) is None  # the upstream's state is behind a lock
    registry.catalog._lock = WouldWait()  # type: ignore[assignment]
    assert handle_cached(registry, get("/simple/demo/")) is None
    assert handle_cached(registry, get("/simple/")) is not None  # the project list takes no lock
    registry.authenticator._cache._lock = WouldWait()  # type: ignore[assignment]
    assert handle_cached(registry, get("/simple/", {"Authorization": basic("a", "b")})) is None
    assert wire.calls == []


PATHS = [
    "/simple",
    "/simple/",
    "/simple/demo/",
    "/simple/Demo",
    "/simple/demo",
    "/simple/other/",
    "/simple//",
    "/simple/demo/x",
    "/pypi/demo/json",
    "/pypi/demo/1.0/json",
    "/pypi/Demo/1.0/json",
    "/pypi/demo/9/json",
    "/health",
    "/",
    "/simple/%2e/",
    "/simple/-/",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.one_of(st.sampled_from(PATHS), st.text(max_size=20).map(lambda s: "/simple/" + s)),
    method=st.sampled_from(["GET", "HEAD", "POST", "get"]),
    accept=st.one_of(st.none(), accept_headers().map(lambda a: a[0])),
    fmt=st.sampled_from([None, "text/html", SIMPLE_JSON, "nonsense"]),
    if_none_match=st.sampled_from([None, "*", '"nope"', "garbage", "<its etag>"]),
    accept_encoding=st.sampled_from(
        [None, "gzip", "gzip;q=0", "br, zstd, gzip;q=0.5", "identity", "*", "x;q=1"]
    ),
    authorization=st.sampled_from([None, basic("", ""), basic("a", "b"), "Basic !!", "Digest x"]),
    identity=st.sampled_from([None, Identity(user="alice"), Identity(user="bob", groups=("g",))]),
)
def test_answers_exactly_what_handle_answers(
    local: tuple[Registry, Tripwire],
    path: str,
    method: str,
    accept: str | None,
    fmt: str | None,
    if_none_match: str | None,
    authorization: str | None,
    accept_encoding: str | None,
    identity: Identity | None,
):
    """For any request, the fast path answers None or exactly the ordinary answer."""
    registry, _ = local
    headers = {
        "Accept": accept,
        "If-None-Match": if_none_match,
        "Authorization": authorization,
        "Accept-Encoding": accept_encoding,
    }
    query = f"?format={fmt}" if fmt is not None else ""
    request = get(
        path + query, {k: v for k, v in headers.items() if v is not None}, method=method, identity=identity
    )
    if if_none_match == "<its etag>":
        etag = handle_uncached(registry, attrs.evolve(request, method="GET")).header("etag")
        request = attrs.evolve(request, headers={**request.headers, "if-none-match": etag or "-"})
    cached = handle_cached(registry, request)
    if cached is not None:
        assert cached == handle_uncached(registry, request)
