"""Prepared answers (``PreparedAnswers``): a warm page asked again the same way is given
again, byte for byte what ``handle`` answers, for one ``stat``, only while its snapshot is
current, to credentials only while their verdict is cached, and within bounds."""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path
from typing import Any

import attrs
import pyregistry_asgi
import pyregistry_wsgi
import pytest
from access_helpers import basic, fast_hash
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from registry_http import SIMPLE_JSON, make_wheel, send, upload
from strategies import accept_headers
from test_fast_path import OPEN, PATHS, Tripwire, WouldWait, get, tripwired

from pyregistry_core import Identity, PreparedAnswers, Registry, Request
from pyregistry_core.shared_cache import SharedTTLCache
from pyregistry_core.web.handle import handle_uncached

ALICE = basic("alice", "secret")


def key_of(request: Request) -> tuple[object, ...]:
    """The request values an adapter keys on (the test's own spelling of them; the
    ``Authorization`` header is handed over beside the key)."""
    headers = request.headers
    return (
        request.method,
        request.path,
        tuple(sorted(request.query.items())),
        headers.get("accept"),
        headers.get("accept-encoding"),
        headers.get("if-none-match"),
        request.root_url,
        request.identity,
    )


def twice(answers: PreparedAnswers, request: Request) -> tuple[object, object]:
    """The answer as worked out (and maybe kept), then as given again (None: not kept)."""
    first = answers.answer(key_of(request), request)
    again = answers.get(key_of(request), request.header("authorization"))
    return first, again.response if again is not None else None


@pytest.fixture
def local(tmp_path: Path) -> tuple[Registry, Tripwire]:
    """A registry on a local directory holding demo 1.0, its pages warm (gzip'd too), and
    alice's password verified (her verdict cached)."""
    config = {"storage.dir": str(tmp_path / "packages"), "user.alice": fast_hash("secret"), **OPEN}
    registry, wire = tripwired(config)
    assert upload(registry, make_wheel("demo", "1.0")).status == 200
    assert send(registry, "GET", "/simple/", headers={"Authorization": ALICE}).status == 200
    for accept in (None, SIMPLE_JSON):
        for path in ("/simple/", "/simple/demo/"):
            for coding in (None, "gzip"):
                headers = {k: v for k, v in (("Accept", accept), ("Accept-Encoding", coding)) if v}
                assert send(registry, "GET", path, headers=headers).status == 200
    for path in ("/pypi/demo/json", "/pypi/demo/1.0/json"):
        assert send(registry, "GET", path).status == 200
    return registry, wire


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.one_of(st.sampled_from(PATHS), st.text(max_size=20).map(lambda s: "/simple/" + s)),
    method=st.sampled_from(["GET", "HEAD", "get"]),
    accept=st.one_of(st.none(), accept_headers().map(lambda a: a[0])),
    fmt=st.sampled_from([None, "text/html", SIMPLE_JSON, "nonsense"]),
    if_none_match=st.sampled_from([None, "*", '"nope"', "garbage", "<its etag>"]),
    accept_encoding=st.sampled_from([None, "gzip", "gzip;q=0", "br, zstd, gzip;q=0.5", "identity", "x;q=1"]),
    identity=st.sampled_from([None, Identity(user="alice"), Identity(user="bob", groups=("g",))]),
    authorization=st.sampled_from([None, ALICE, basic("alice", "wrong"), basic("", ""), "Bearer x"]),
)
def test_given_again_exactly_what_handle_answers(
    local: tuple[Registry, Tripwire],
    path: str,
    method: str,
    accept: str | None,
    fmt: str | None,
    if_none_match: str | None,
    accept_encoding: str | None,
    identity: Identity | None,
    authorization: str | None,
):
    """For any request, with credentials or without, the answer given again is exactly the
    ordinary answer."""
    registry, _ = local
    answers = PreparedAnswers(registry)
    headers = {"Accept": accept, "If-None-Match": if_none_match, "Accept-Encoding": accept_encoding}
    headers["Authorization"] = authorization
    query = f"?format={fmt}" if fmt is not None else ""
    request = get(
        path + query, {k: v for k, v in headers.items() if v is not None}, method=method, identity=identity
    )
    if if_none_match == "<its etag>":
        etag = handle_uncached(registry, attrs.evolve(request, method="GET")).header("etag")
        request = attrs.evolve(request, headers={**request.headers, "if-none-match": etag or "-"})
    first, again = twice(answers, request)
    if again is not None:
        assert again == first == handle_uncached(registry, request)


def test_one_stat_per_answer_given_again(local: tuple[Registry, Tripwire]):
    """Worked out, a warm page costs the fast path's one stat; given again, one stat too;
    a redirect the request alone decides, none."""
    registry, wire = local
    answers = PreparedAnswers(registry)
    for path in ("/simple/", "/simple/demo/", "/pypi/demo/json"):
        wire.arm("document_version")
        first, again = twice(answers, get(path))
        assert wire.calls == ["document_version"] * 2
        with wire.paused():
            assert first == again == handle_uncached(registry, get(path))
    wire.arm()
    first, again = twice(answers, get("/simple/Demo/"))
    assert first == again
    assert (again.status, again.header("location"), wire.calls) == (301, "/simple/demo/", [])  # type: ignore[union-attr]
    assert len(answers) == 4


def test_a_change_elsewhere_is_seen_at_once(local: tuple[Registry, Tripwire], tmp_path: Path):
    """Once another process changed the project, its kept page is not given again: the
    next answer (worked out anew) lists the new file, and is the one kept."""
    registry, _ = local
    answers = PreparedAnswers(registry)
    request = get("/simple/demo/")
    first, again = twice(answers, request)
    assert first == again
    other = Registry.from_config({"storage.dir": str(tmp_path / "packages"), **OPEN})
    assert upload(other, make_wheel("demo", "2.0")).status == 200
    assert answers.get(key_of(request)) is None
    assert len(answers) == 0  # found stale: dropped
    assert b"demo-2.0-py3-none-any.whl" in send(registry, "GET", "/simple/demo/").body  # type: ignore[operator]
    first, again = twice(answers, request)
    assert first == again
    assert b"demo-2.0-py3-none-any.whl" in first.body


def test_given_again_by_its_document_version_alone(local: tuple[Registry, Tripwire], tmp_path: Path):
    """On local storage a kept answer is confirmed by its document's version alone, not the
    catalog's lookup: given again while a writer holds the catalog's lock, and still not
    given once another process changed the project."""
    registry, _ = local
    answers = PreparedAnswers(registry)
    requests = [get("/simple/demo/"), get("/simple/"), get("/pypi/demo/json")]
    kept = [twice(answers, request)[1] for request in requests]
    catalog_lock = registry.catalog._lock
    registry.catalog._lock = WouldWait()  # type: ignore[assignment]
    try:
        again = [answers.get(key_of(request)) for request in requests]
        assert [prepared.response if prepared else None for prepared in again] == kept
        other = Registry.from_config({"storage.dir": str(tmp_path / "packages"), **OPEN})
        assert upload(other, make_wheel("demo", "4.0")).status == 200
        assert answers.get(key_of(requests[0])) is None
        assert answers.get(key_of(requests[1])) is not None  # the project list did not change
    finally:
        registry.catalog._lock = catalog_lock


def test_a_change_here_is_seen_at_once(local: tuple[Registry, Tripwire]):
    """An upload through this registry is on the next answer for the same key."""
    registry, _ = local
    answers = PreparedAnswers(registry)
    request = get("/simple/demo/", {"Accept": SIMPLE_JSON})
    assert twice(answers, request)[1] is not None
    assert upload(registry, make_wheel("demo", "3.0")).status == 200
    assert answers.get(key_of(request)) is None
    assert send(registry, "GET", "/simple/demo/", headers={"Accept": SIMPLE_JSON}).status == 200
    first, again = twice(answers, request)
    assert first == again
    assert b"demo-3.0-py3-none-any.whl" in first.body


def test_bounded_by_count_and_bytes(local: tuple[Registry, Tripwire]):
    """The oldest answers go first once ``max_answers`` or ``max_bytes`` would be passed."""
    registry, _ = local
    answers = PreparedAnswers(registry, max_answers=2)
    requests = [get(path) for path in ("/simple/", "/simple/demo/", "/pypi/demo/json")]
    for request in requests:
        twice(answers, request)
    assert len(answers) == 2
    assert answers.get(key_of(requests[0])) is None
    assert answers.get(key_of(requests[2])) is not None
    sizes = [len(handle_uncached(registry, r).body) for r in requests[1:]]  # type: ignore[arg-type]
    small = PreparedAnswers(registry, max_bytes=max(sizes))  # room for either, not both
    for request in requests[1:]:
        twice(small, request)
    assert [small.get(key_of(r)) is not None for r in requests[1:]] == [False, True]


def test_counted_and_logged_as_the_first(local: tuple[Registry, Tripwire], caplog: pytest.LogCaptureFixture):
    """An answer given again leaves the same access line as one worked out."""
    registry, _ = local
    answers = PreparedAnswers(registry)
    with caplog.at_level(logging.INFO, logger="pyregistry.access"):
        twice(answers, get("/simple/demo/", {"Accept-Encoding": "gzip"}))
    lines = [r.getMessage().split(" ", 3) for r in caplog.records if r.name == "pyregistry.access"]
    assert len(lines) == 2
    assert lines[0][:3] == lines[1][:3] == ["-", '"GET', '/simple/demo/"']
    assert [line[3].split()[0] for line in lines] == ["200", "200"]
    assert [line[3].split()[-1] for line in lines] == ["gzip", "gzip"]


def wsgi_get(app: Any, path: str, headers: dict[str, str]) -> tuple[str, dict[str, str], bytes]:
    """GET through a WSGI app: status line, headers (lower-case names), body."""
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SCRIPT_NAME": "",
        "wsgi.url_scheme": "http",
        "HTTP_HOST": "testserver",
        **{"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()},
    }
    started: list[Any] = []
    body = b"".join(app(environ, lambda status, sent, exc=None: started.extend((status, sent))))
    return started[0], {k.lower(): v for k, v in started[1]}, body


def asgi_get(app: Any, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    """GET through an ASGI app: status, headers (lower-case names), body."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send_(message: dict[str, Any]) -> None:
        sent.append(message)

    raw = [(b"host", b"testserver"), *((k.lower().encode(), v.encode()) for k, v in headers.items())]
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "root_path": "",
        "query_string": b"",
        "headers": raw,
    }
    asyncio.run(app(scope, receive, send_))
    start = sent[0]
    names = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], names, b"".join(m.get("body", b"") for m in sent[1:])


@pytest.mark.parametrize("adapter", ["wsgi", "asgi"])
def test_credentials_never_get_an_anonymous_answer(adapter: str, tmp_path: Path):
    """Through either adapter, a page kept for anonymous callers is not what a caller with
    credentials gets (theirs is ``private``), nor what a wrong password gets (401)."""
    config = {"storage.dir": str(tmp_path / "packages"), "user.alice": fast_hash("secret"), **OPEN}
    registry = Registry.from_config(config)
    assert upload(registry, make_wheel("demo", "1.0")).status == 200
    make, fetch = (
        (pyregistry_wsgi.make_app, wsgi_get) if adapter == "wsgi" else (pyregistry_asgi.make_app, asgi_get)
    )
    app = make(registry)
    for _ in range(3):
        status, headers, _body = fetch(app, "/simple/demo/", {})
        assert (str(status)[:3], headers["cache-control"]) == ("200", "max-age=0, must-revalidate")
    alice = {"Authorization": basic("alice", "secret")}
    for _ in range(2):
        status, headers, _body = fetch(app, "/simple/demo/", alice)
        assert (str(status)[:3], headers["cache-control"]) == ("200", "max-age=0, must-revalidate, private")
    status, _headers, _body = fetch(app, "/simple/demo/", {"Authorization": basic("alice", "wrong")})
    assert str(status)[:3] == "401"


def test_asgi_tries_the_fast_path_once(local: tuple[Registry, Tripwire], tmp_path: Path):
    """Through the ASGI adapter, a page the fast path cannot answer (changed elsewhere) costs
    one stat on the event loop, and the thread that reads it does not try the fast path again."""
    registry, wire = local
    app = pyregistry_asgi.make_app(registry)
    other = Registry.from_config({"storage.dir": str(tmp_path / "packages"), **OPEN})
    assert upload(other, make_wheel("demo", "2.0")).status == 200
    wire.arm("document_version", "read_document", "list_records", "read_record", "read_records")
    status, _headers, body = asgi_get(app, "/simple/demo/", {})
    assert status == 200
    assert b"demo-2.0-py3-none-any.whl" in body
    stats = [t for name, t in zip(wire.calls, wire.threads, strict=True) if name == "document_version"]
    assert stats == [threading.current_thread()]


@pytest.mark.parametrize("adapter", ["wsgi", "asgi"])
def test_identities_of_the_host_app_are_kept_apart(adapter: str, tmp_path: Path):
    """Through either adapter, an identity from ``identify`` (even one with groups in a list)
    gets its own answer: an anonymous caller's kept page is never theirs, nor theirs another's."""
    config = {"storage.dir": str(tmp_path / "packages"), "pypi.default_read": "authenticated", **OPEN}
    registry = Registry.from_config(config)
    make, fetch = (
        (pyregistry_wsgi.make_app, wsgi_get) if adapter == "wsgi" else (pyregistry_asgi.make_app, asgi_get)
    )
    who: dict[str, Any] = {"identity": None}
    app = make(registry, identify=lambda _: who["identity"])
    for identity, expected in (
        (None, "401"),
        (Identity(user="alice"), "200"),
        (None, "401"),
        (Identity(user="bob", groups=["g"]), "200"),  # type: ignore[arg-type]
        (None, "401"),
    ):
        who["identity"] = identity
        for _ in range(2):
            assert str(fetch(app, "/simple/", {})[0])[:3] == expected


def test_verified_credentials_get_their_prepared_answer(local: tuple[Registry, Tripwire]):
    """Credentials whose verdict is cached get their own answer again for one stat and no new
    verification; another password (or none) never gets it, and is refused 401 as before."""
    registry, wire = local
    answers = PreparedAnswers(registry)
    alice = get("/simple/demo/", {"Authorization": ALICE})
    verifications = registry.authenticator.verifications
    first, again = twice(answers, alice)
    assert again.header("cache-control") == "max-age=0, must-revalidate, private"  # type: ignore[union-attr]
    wire.arm("document_version")
    assert answers.get(key_of(alice), ALICE) is not None
    assert (wire.calls, registry.authenticator.verifications) == (["document_version"], verifications)
    with wire.paused():
        assert first == again == handle_uncached(registry, alice)
    assert answers.get(key_of(alice)) is None
    wrong = get("/simple/demo/", {"Authorization": basic("alice", "wrong")})
    assert answers.get(key_of(wrong), basic("alice", "wrong")) is None
    assert answers.answer(key_of(wrong), wrong) is None
    with wire.paused():
        assert handle_uncached(registry, wrong).status == 401
    assert answers.get(key_of(wrong), basic("alice", "wrong")) is None
    assert len(answers) == 1


def test_an_expired_verdict_is_verified_again(local: tuple[Registry, Tripwire]):
    """Once the authenticator's verdict has expired, the kept answer is not given: the next
    request is verified again, and its answer kept for the new verdict."""
    registry, _ = local
    now = [1000.0]
    registry.authenticator._cache = SharedTTLCache(10_000, 60.0, lambda: now[0])
    answers = PreparedAnswers(registry)
    alice = get("/simple/demo/", {"Authorization": ALICE})
    assert handle_uncached(registry, alice).status == 200
    verifications = registry.authenticator.verifications
    _first, again = twice(answers, alice)
    assert again is not None
    now[0] += 59.0
    assert answers.get(key_of(alice), ALICE) is not None
    now[0] += 2.0
    assert answers.get(key_of(alice), ALICE) is None
    assert len(answers) == 0
    assert answers.answer(key_of(alice), alice) is None  # not cached: the ordinary path verifies
    assert handle_uncached(registry, alice).status == 200
    assert registry.authenticator.verifications == verifications + 1
    _first, again = twice(answers, alice)
    assert again is not None


def test_tokens_are_never_kept(local: tuple[Registry, Tripwire]):
    """A token is checked on every request, so its answers are never kept, and once revoked
    the next request is refused 401."""
    registry, _ = local
    token, secret = registry.tokens.create("alice")
    header = basic("__token__", secret)
    answers = PreparedAnswers(registry)
    request = get("/simple/demo/", {"Authorization": header})
    assert handle_uncached(registry, request).status == 200
    first, again = twice(answers, request)
    assert (first, again, len(answers)) == (None, None, 0)
    assert registry.tokens.revoke(token.id) is True
    assert handle_uncached(registry, request).status == 401


@pytest.mark.parametrize("adapter", ["wsgi", "asgi"])
def test_verified_credentials_are_prepared_through_adapters(adapter: str, tmp_path: Path):
    """Through either adapter, alice's warm page is given again for one stat and no new
    verification; a wrong password is refused 401, and an expired verdict is verified again."""
    config = {"storage.dir": str(tmp_path / "packages"), "user.alice": fast_hash("secret"), **OPEN}
    registry, wire = tripwired(config)
    now = [1000.0]
    registry.authenticator._cache = SharedTTLCache(10_000, 60.0, lambda: now[0])
    assert upload(registry, make_wheel("demo", "1.0")).status == 200
    make, fetch = (
        (pyregistry_wsgi.make_app, wsgi_get) if adapter == "wsgi" else (pyregistry_asgi.make_app, asgi_get)
    )
    app = make(registry)
    alice = {"Authorization": ALICE}
    for _ in range(2):
        status, headers, _body = fetch(app, "/simple/demo/", alice)
        assert (str(status)[:3], headers["cache-control"]) == ("200", "max-age=0, must-revalidate, private")
    wire.arm("document_version")
    status, headers, body = fetch(app, "/simple/demo/", alice)
    assert (str(status)[:3], headers["cache-control"]) == ("200", "max-age=0, must-revalidate, private")
    assert b"demo-1.0-py3-none-any.whl" in body
    assert (wire.calls, registry.authenticator.verifications) == (["document_version"], 1)
    wire.allowed = None
    assert str(fetch(app, "/simple/demo/", {"Authorization": basic("alice", "wrong")})[0])[:3] == "401"
    now[0] += 61.0
    assert str(fetch(app, "/simple/demo/", alice)[0])[:3] == "200"
    assert registry.authenticator.verifications == 3
