"""Compressed pages over HTTP: Simple pages and ``/pypi/<project>/json`` by ``Accept-Encoding``,
with per-coding ETags, 304s, refusals, and the fast path serving only what is compressed."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from registry_http import SIMPLE_JSON, make_wheel, send, upload
from strategies import accept_encoding_headers

from pyregistry_core import Registry, Request, Response, handle_cached
from pyregistry_core.content_coding import IDENTITY, accepts, coding_named

ZSTD = coding_named("zstd")
PAGES = (
    ("/simple/demo/", {}),
    ("/simple/demo/", {"Accept": SIMPLE_JSON}),
    ("/simple/", {}),
    ("/simple/", {"Accept": SIMPLE_JSON}),
    ("/pypi/demo/json", {}),
    ("/pypi/demo/1.1/json", {}),
)
DECODERS: dict[str, Callable[[bytes], bytes]] = {IDENTITY: lambda body: body, "gzip": gzip.decompress}
if ZSTD is not None:
    try:
        from compression import zstd as _zstd  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        from backports import zstd as _zstd  # type: ignore[no-redef,unused-ignore]  # the compression extra

    DECODERS["zstd"] = _zstd.decompress


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    """A registry holding enough projects and files of ``demo`` that its pages are worth compressing."""
    storage = tmp_path_factory.mktemp("encoded")
    made = Registry.from_config({"storage.dir": str(storage), "pypi.default_write": "everyone"})
    for version in ("1.0", "1.1", "1.2", "2.0"):
        assert upload(made, make_wheel("demo", version)).status == 200
    for number in range(12):
        assert upload(made, make_wheel(f"demo-neighbour-{number}", "1.0")).status == 200
    return made


def get(registry: Registry, path: str, headers: dict[str, str], method: str = "GET") -> Response:
    """One request through ``handle``."""
    return send(registry, method, path, headers=headers)


def body(response: Response) -> bytes:
    """The body of a page answer (always bytes)."""
    assert isinstance(response.body, bytes)
    return response.body


@pytest.mark.parametrize(("path", "headers"), PAGES)
def test_gzip_answer_headers_and_round_trip(registry: Registry, path: str, headers: dict[str, str]) -> None:
    """pip's "gzip, deflate" gets the page gzip'd, with Content-Encoding, its own strong ETag,
    Vary on both negotiated headers and the compressed length; it decompresses to the page."""
    plain = get(registry, path, headers)
    zipped = get(registry, path, {**headers, "Accept-Encoding": "gzip, deflate"})
    assert (plain.status, zipped.status) == (200, 200)
    assert plain.header("content-encoding") is None
    assert zipped.header("content-encoding") == "gzip"
    assert zipped.header("vary") == plain.header("vary") == "Accept, Accept-Encoding"
    assert zipped.header("etag") == str(plain.header("etag"))[:-1] + '-gz"'
    assert zipped.header("content-length") == str(len(body(zipped)))
    assert zipped.header("content-type") == plain.header("content-type")
    assert zipped.header("cache-control") == plain.header("cache-control")
    assert gzip.decompress(body(zipped)) == body(plain)
    assert len(body(zipped)) < len(body(plain))


@pytest.mark.skipif(ZSTD is None, reason="no zstd library (the compression extra)")
@pytest.mark.parametrize(("path", "headers"), PAGES)
def test_uv_gets_zstd(registry: Registry, path: str, headers: dict[str, str]) -> None:
    """uv's "gzip, deflate, zstd" gets zstd, which decompresses to the page."""
    plain = get(registry, path, headers)
    packed = get(registry, path, {**headers, "Accept-Encoding": "gzip, deflate, zstd"})
    assert packed.header("content-encoding") == "zstd"
    assert packed.header("etag") == str(plain.header("etag"))[:-1] + '-zst"'
    assert DECODERS["zstd"](body(packed)) == body(plain)


def test_compressed_once_per_page(registry: Registry) -> None:
    """Two requests get the very same compressed bytes: compression happened once."""
    headers = {"Accept-Encoding": "gzip"}
    first, second = get(registry, "/simple/demo/", headers), get(registry, "/simple/demo/", headers)
    assert body(first) is body(second)


@pytest.mark.parametrize(("path", "headers"), PAGES)
def test_each_coding_revalidates_with_its_own_etag(
    registry: Registry, path: str, headers: dict[str, str]
) -> None:
    """If-None-Match with the gzip ETag is a 304 carrying it while gzip is accepted; a
    client that now refuses gzip gets the page (200, identity) instead."""
    zipped = get(registry, path, {**headers, "Accept-Encoding": "gzip"})
    etag = str(zipped.header("etag"))
    again = get(registry, path, {**headers, "Accept-Encoding": "gzip", "If-None-Match": etag})
    assert (again.status, again.header("etag"), body(again)) == (304, etag, b"")
    assert again.header("vary") == "Accept, Accept-Encoding"
    weak = get(registry, path, {**headers, "Accept-Encoding": "gzip", "If-None-Match": f"W/{etag}"})
    assert weak.status == 304
    refused = get(registry, path, {**headers, "Accept-Encoding": "gzip;q=0", "If-None-Match": etag})
    assert (refused.status, refused.header("content-encoding")) == (200, None)
    assert refused.header("etag") == etag.replace('-gz"', '"')


def test_a_plain_copy_still_revalidates_when_gzip_is_preferred(registry: Registry) -> None:
    """A client holding the identity copy (its ETag) that now accepts gzip too gets a 304
    naming the copy it holds: identity stays acceptable to it."""
    plain = get(registry, "/simple/demo/", {})
    etag = str(plain.header("etag"))
    answer = get(registry, "/simple/demo/", {"Accept-Encoding": "gzip", "If-None-Match": f'"other", {etag}'})
    assert (answer.status, answer.header("etag")) == (304, etag)


def test_q0_refuses_gzip_and_identity_q0_alone_is_406(registry: Registry) -> None:
    """gzip;q=0 gets the page uncompressed; refusing identity and every coding we have is
    a 406 naming the codings served, with Vary on both negotiated headers."""
    answer = get(registry, "/simple/demo/", {"Accept-Encoding": "gzip;q=0, deflate"})
    assert (answer.status, answer.header("content-encoding")) == (200, None)
    refused = get(registry, "/simple/demo/", {"Accept-Encoding": "identity;q=0, gzip;q=0, zstd;q=0"})
    assert refused.status == 406
    assert body(refused).decode().startswith("None of the requested content codings is available")
    assert refused.header("vary") == "Accept, Accept-Encoding"
    assert get(registry, "/pypi/demo/json", {"Accept-Encoding": "*;q=0"}).status == 406


def test_head_has_the_get_headers_and_no_body(registry: Registry) -> None:
    """HEAD of a compressed page: the GET's Content-Encoding, ETag and Content-Length, no body."""
    headers = {"Accept-Encoding": "gzip"}
    full = get(registry, "/simple/demo/", headers)
    head = get(registry, "/simple/demo/", headers, method="HEAD")
    assert (head.status, body(head)) == (200, b"")
    assert head.headers == full.headers


def test_pages_have_no_ranges(registry: Registry) -> None:
    """A Range header is ignored on pages: the whole (compressed) page, 200, no Accept-Ranges."""
    answer = get(registry, "/simple/demo/", {"Accept-Encoding": "gzip", "Range": "bytes=0-9"})
    assert answer.status == 200
    assert answer.header("accept-ranges") is None
    assert answer.header("content-range") is None


def test_fast_path_serves_only_what_is_compressed(tmp_path: Path) -> None:
    """``handle_cached`` never compresses: before ``handle`` compressed the page it answers
    None for gzip (identity it answers), afterwards exactly what ``handle`` answers."""
    made = Registry.from_config({"storage.dir": str(tmp_path), "pypi.default_write": "everyone"})
    for version in ("1.0", "1.1"):
        assert upload(made, make_wheel("demo", version)).status == 200
    plain = Request("GET", "/simple/demo/", headers={}, root_url="http://testserver")
    zipped = Request(
        "GET", "/simple/demo/", headers={"accept-encoding": "gzip"}, root_url="http://testserver"
    )
    assert send(made, "GET", "/simple/demo/").status == 200  # rendered (identity)
    cached_plain = handle_cached(made, plain)
    assert cached_plain is not None
    assert cached_plain.header("content-encoding") is None
    assert handle_cached(made, zipped) is None
    by_handle = send(made, "GET", "/simple/demo/", headers={"Accept-Encoding": "gzip"})
    fast = handle_cached(made, zipped)
    assert fast is not None
    assert (fast.status, fast.headers, fast.body) == (by_handle.status, by_handle.headers, by_handle.body)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=accept_encoding_headers())
def test_any_accept_encoding_is_a_valid_choice(
    registry: Registry, header: tuple[str, list[tuple[str, int]]]
) -> None:
    """Whatever Accept-Encoding says: never a 500; a 200 in a coding the header accepts that
    decodes to the page, or a 406 when it refuses all we have."""
    text, _items = header
    plain = body(get(registry, "/simple/demo/", {}))
    answer = get(registry, "/simple/demo/", {"Accept-Encoding": text})
    assert answer.status in (200, 406), body(answer)
    if answer.status == 200:
        coding = answer.header("content-encoding") or IDENTITY
        assert accepts(text, coding)
        assert DECODERS[coding](body(answer)) == plain
