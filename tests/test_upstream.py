"""The upstream client: page parsing (PEP 503/691/592/658/714), URL masking, and
``HttpUpstream`` against a local upstream index that misbehaves on demand."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
import urllib3.util.connection
from upstream_app import UpstreamIndex, collect_unclosed_sockets

from pyregistry_core.config_values import mask_url
from pyregistry_core.errors import UpstreamError
from pyregistry_core.upstream.client import HttpUpstream, parse_html_page, parse_json_page, verify_hashes

PAGE = "https://mirror.example/simple/foo/"
SHA = "ab" * 32
ONE_MIB = 2**20


@pytest.fixture
def upstream() -> Iterator[UpstreamIndex]:
    """A running upstream index with ``foo-bar`` 1.0 (wheel + sdist, Requires-Python >=3.8)."""
    with UpstreamIndex() as index:
        index.add("Foo_Bar", "1.0", requires_python=">=3.8")
        yield index


@pytest.fixture(autouse=True)
def connections(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every address the client tries to connect to; anything off loopback is refused unsent."""
    attempts: list[tuple[str, int]] = []
    real = urllib3.util.connection.create_connection

    def guarded(address: tuple[str, int], *args: object, **kwargs: object) -> object:
        attempts.append(address)
        if address[0] not in ("127.0.0.1", "localhost"):
            raise OSError(f"test guard: no traffic to {address[0]}")
        return real(address, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(urllib3.util.connection, "create_connection", guarded)
    return attempts


_OPEN: list[HttpUpstream] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    """Every client's pooled connections are closed when its test ends."""
    yield
    while _OPEN:
        _OPEN.pop()._pool.clear()
    # pytest.raises keeps the failed response alive in a reference cycle (exception →
    # traceback → frame); collect it now, so it never surfaces in a later test.
    collect_unclosed_sockets()


def client(index: UpstreamIndex | str, **kwargs: float) -> HttpUpstream:
    """A fresh client of ``index`` (or of a base URL), with its own connection pool."""
    made = HttpUpstream(index if isinstance(index, str) else index.url, **kwargs)  # type: ignore[arg-type]
    _OPEN.append(made)
    return made


def wheel_name() -> str:
    return "foo_bar-1.0-py3-none-any.whl"


# -- parse_html_page ---------------------------------------------------------------------


def test_html_relative_hrefs_resolve_against_the_page_url() -> None:
    """A relative href is resolved against the page's own URL and the fragment becomes the hash."""
    body = f'<a href="../../packages/foo-1.0.tar.gz#sha256={SHA.upper()}">foo-1.0.tar.gz</a>'.encode()
    (file,) = parse_html_page("foo", PAGE, body).files
    assert file.filename == "foo-1.0.tar.gz"
    assert file.url == "https://mirror.example/packages/foo-1.0.tar.gz"
    assert dict(file.hashes) == {"sha256": SHA}


def test_html_base_href_changes_where_links_point() -> None:
    """``<base href>`` (itself relative to the page) is the base of every link, as in a browser."""
    body = (
        b'<html><head><base href="../../cdn/base/"></head><body>'
        b'<a href="files/foo-1.0.tar.gz">foo-1.0.tar.gz</a></body></html>'
    )
    (file,) = parse_html_page("foo", PAGE, body).files
    assert file.url == "https://mirror.example/cdn/base/files/foo-1.0.tar.gz"
    absolute = b'<base href="https://cdn.example/x/"><a href="foo-1.0.tar.gz">foo-1.0.tar.gz</a>'
    assert parse_html_page("foo", PAGE, absolute).files[0].url == "https://cdn.example/x/foo-1.0.tar.gz"


@pytest.mark.parametrize(
    ("fragment", "hashes"),
    [
        (f"sha256={SHA}", {"sha256": SHA}),
        ("md5=D41D8CD98F00B204E9800998ECF8427E", {"md5": "d41d8cd98f00b204e9800998ecf8427e"}),
        (f"sha512={'cd' * 64}", {"sha512": "cd" * 64}),
        ("egg=foo", {}),
        ("sha999=abc", {}),
        ("", {}),
    ],
)
def test_html_hash_fragments(fragment: str, hashes: dict[str, str]) -> None:
    """Only known hash names in the URL fragment become hashes, lowercased (PEP 503)."""
    href = "foo-1.0.tar.gz" + (f"#{fragment}" if fragment else "")
    (file,) = parse_html_page("foo", PAGE, f'<a href="{href}">foo-1.0.tar.gz</a>'.encode()).files
    assert dict(file.hashes) == hashes
    assert file.url == "https://mirror.example/simple/foo/foo-1.0.tar.gz"


@pytest.mark.parametrize(
    ("attribute", "yanked", "reason"),
    [
        ("", False, ""),
        ("data-yanked", True, ""),
        ('data-yanked=""', True, ""),
        ('data-yanked="broken &amp; &lt;bad&gt;"', True, "broken & <bad>"),
    ],
)
def test_html_data_yanked(attribute: str, yanked: bool, reason: str) -> None:
    """PEP 592: data-yanked marks the file yanked, its (unescaped) value is the reason."""
    body = f'<a href="foo-1.0.tar.gz" {attribute}>foo-1.0.tar.gz</a>'.encode()
    (file,) = parse_html_page("foo", PAGE, body).files
    assert (file.yanked, file.yanked_reason) == (yanked, reason)


@pytest.mark.parametrize(
    ("attributes", "has_metadata", "digest"),
    [
        ("", False, None),
        (f'data-core-metadata="sha256={SHA}"', True, SHA),
        ('data-core-metadata="true"', True, None),
        (f'data-dist-info-metadata="sha256={SHA}"', True, SHA),
        (f'data-core-metadata="sha256={SHA}" data-dist-info-metadata="sha256={"00" * 32}"', True, SHA),
    ],
)
def test_html_core_metadata(attributes: str, has_metadata: bool, digest: str | None) -> None:
    """PEP 658/714: data-core-metadata (or the older data-dist-info-metadata) announces .metadata."""
    body = f'<a href="foo-1.0-py3-none-any.whl" {attributes}>foo-1.0-py3-none-any.whl</a>'.encode()
    (file,) = parse_html_page("foo", PAGE, body).files
    assert (file.has_metadata, file.metadata_sha256) == (has_metadata, digest)


def test_html_requires_python_is_unescaped() -> None:
    """PEP 503: data-requires-python is HTML-escaped on the page and read back unescaped."""
    body = b'<a href="foo-1.0.tar.gz" data-requires-python="&gt;=3.9,&lt;4">foo-1.0.tar.gz</a>'
    assert parse_html_page("foo", PAGE, body).files[0].requires_python == ">=3.9,<4"


def test_html_anchor_without_href_is_skipped() -> None:
    """An anchor with no href names no file."""
    body = b'<a name="top">top</a><a href="foo-1.0.tar.gz">foo-1.0.tar.gz</a>'
    assert [f.filename for f in parse_html_page("foo", PAGE, body).files] == ["foo-1.0.tar.gz"]


def test_html_unreadable_urls_are_skipped() -> None:
    """An href that does not parse as a URL names no file, and an unreadable ``<base>`` is
    ignored: the other links still count, and nothing raises."""
    body = (
        b'<a href="http://[::1/foo-0.9.tar.gz">foo-0.9.tar.gz</a><a href="foo-1.0.tar.gz">foo-1.0.tar.gz</a>'
    )
    assert [f.url for f in parse_html_page("foo", PAGE, body).files] == [PAGE + "foo-1.0.tar.gz"]
    based = b'<base href="http://[x]/"><a href="foo-1.0.tar.gz">foo-1.0.tar.gz</a>'
    assert [f.url for f in parse_html_page("foo", PAGE, based).files] == [PAGE + "foo-1.0.tar.gz"]


def test_html_percent_encoded_filename_is_decoded() -> None:
    """The filename is the URL's last path segment percent-decoded (``%2B`` is ``+``)."""
    body = (
        b'<a href="/whl/foo-1.0%2Bcpu-py3-none-any.whl#sha256=' + SHA.encode() + b'">'
        b"foo-1.0+cpu-py3-none-any.whl</a>"
    )
    (file,) = parse_html_page("foo", PAGE, body).files
    assert file.filename == "foo-1.0+cpu-py3-none-any.whl"
    assert file.url == "https://mirror.example/whl/foo-1.0%2Bcpu-py3-none-any.whl"


# -- parse_json_page ---------------------------------------------------------------------


def _json(*files: object) -> bytes:
    import json

    return json.dumps({"meta": {"api-version": "1.1"}, "name": "foo", "files": list(files)}).encode()


def test_json_file_fields() -> None:
    """PEP 691/700 fields are read: URL (resolved, fragment dropped), hashes, metadata, size, time."""
    body = _json(
        {
            "filename": "foo-1.0-py3-none-any.whl",
            "url": "../../packages/foo-1.0-py3-none-any.whl#sha256=ignored",
            "hashes": {"sha256": SHA.upper(), "blake2b": "EF" * 64, "unknown": "x"},
            "requires-python": ">=3.9",
            "yanked": "bad build",
            "core-metadata": {"sha256": "12" * 32},
            "size": 1234,
            "upload-time": "2024-05-06T07:08:09.000000Z",
        }
    )
    (file,) = parse_json_page("foo", PAGE, body).files
    assert file.url == "https://mirror.example/packages/foo-1.0-py3-none-any.whl"
    assert dict(file.hashes) == {"sha256": SHA, "blake2b": "ef" * 64}
    assert (file.requires_python, file.yanked, file.yanked_reason) == (">=3.9", True, "bad build")
    assert (file.has_metadata, file.metadata_sha256) == (True, "12" * 32)
    assert (file.size, file.upload_time) == (1234, "2024-05-06T07:08:09.000000Z")


@pytest.mark.parametrize(
    ("extra", "yanked", "reason", "has_metadata", "digest"),
    [
        ({}, False, "", False, None),
        ({"yanked": True, "core-metadata": True}, True, "", True, None),
        ({"yanked": False, "dist-info-metadata": {"sha256": SHA}}, False, "", True, SHA),
        ({"core-metadata": False, "dist-info-metadata": {"sha256": SHA}}, False, "", False, None),
    ],
)
def test_json_yanked_and_metadata_variants(
    extra: dict[str, object], yanked: bool, reason: str, has_metadata: bool, digest: str | None
) -> None:
    """PEP 592 yanked (bool or reason) and PEP 714 core-metadata with its older fallback key."""
    body = _json({"filename": "foo-1.0-py3-none-any.whl", "url": "f.whl", "hashes": {}, **extra})
    (file,) = parse_json_page("foo", PAGE, body).files
    assert (file.yanked, file.yanked_reason, file.has_metadata, file.metadata_sha256) == (
        yanked,
        reason,
        has_metadata,
        digest,
    )
    assert (file.size, file.upload_time) == (None, None)


def test_json_entries_without_url_or_filename_are_skipped() -> None:
    """An entry missing its url or filename is no file."""
    body = _json(
        {"filename": "foo-1.0.tar.gz"},
        {"url": "foo-1.1.tar.gz"},
        "junk",
        {"filename": "foo-1.2.tar.gz", "url": "foo-1.2.tar.gz", "size": "12"},
    )
    files = parse_json_page("foo", PAGE, body).files
    assert [(f.filename, f.size) for f in files] == [("foo-1.2.tar.gz", None)]


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"meta": {}}',
        b'{"files": 3}',
        b'{"files": [{"filename": "a-1.0.tar.gz", "url": "a-1.0.tar.gz", "hashes": "sha256"}]}',
        b"[" * 100_000,  # nested past Python's recursion limit: RecursionError, not ValueError
        b'{"files": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    ],
)
def test_json_invalid_page_is_an_upstream_error(body: bytes) -> None:
    """A page that is not a PEP 691 document is an UpstreamError naming the project."""
    with pytest.raises(UpstreamError) as caught:
        parse_json_page("foo", PAGE, body)
    assert caught.value.message == "upstream sent an invalid PEP 691 page for 'foo'"


# -- mask_url ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("https://user:secret@mirror.example/simple/", "https://user:***@mirror.example/simple/"),
        ("http://user:secret@127.0.0.1:8080/x", "http://user:***@127.0.0.1:8080/x"),
        ("https://mirror.example/simple/", "https://mirror.example/simple/"),
        ("https://token@mirror.example/", "https://***@mirror.example/"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    """A password, or a username given alone (a token), is replaced by ``***``; URLs without
    credentials are unchanged."""
    assert mask_url(url) == masked


def test_http_upstream_repr_masks_the_password() -> None:
    """The client's repr shows the upstream without its password."""
    upstream = client("https://mirror-user:s3cr3t@mirror.example/")
    assert repr(upstream) == "HttpUpstream('https://mirror-user:***@mirror.example')"
    assert upstream.project_url("foo") == "https://mirror.example/simple/foo/"
    assert upstream.json_url("foo") == "https://mirror.example/pypi/foo/json"
    assert upstream.json_url("foo", "1.0") == "https://mirror.example/pypi/foo/1.0/json"


# -- HttpUpstream against the upstream index ----------------------------------------------


def test_json_page_from_the_upstream(upstream: UpstreamIndex) -> None:
    """The client asks for PEP 691 JSON first and reads every field the upstream lists."""
    project = client(upstream).project("foo-bar")
    assert project is not None
    (request,) = upstream.requests
    assert request.headers["accept"].startswith("application/vnd.pypi.simple.v1+json")
    by_name = {f.filename: f for f in project.files}
    for hosted in (upstream.file(wheel_name()), upstream.file("foo_bar-1.0.tar.gz")):
        got = by_name[hosted.filename]
        assert got.url == upstream.url + hosted.path
        assert dict(got.hashes) == {"sha256": hosted.sha256}
        assert (got.requires_python, got.size, got.upload_time) == (">=3.8", hosted.size, hosted.upload_time)
        assert got.metadata_sha256 == hosted.metadata_sha256
        assert got.has_metadata is (hosted.metadata is not None)


def test_html_only_upstream(upstream: UpstreamIndex) -> None:
    """An upstream that only speaks PEP 503 HTML is parsed with the same hashes and metadata."""
    upstream.faults.html_only = True
    upstream.yank(wheel_name(), "oops")
    project = client(upstream).project("foo-bar")
    assert project is not None
    got = {f.filename: f for f in project.files}
    wheel = upstream.file(wheel_name())
    assert got[wheel.filename].sha256 == wheel.sha256
    assert got[wheel.filename].metadata_sha256 == wheel.metadata_sha256
    assert (got[wheel.filename].yanked, got[wheel.filename].yanked_reason) == (True, "oops")
    assert got["foo_bar-1.0.tar.gz"].requires_python == ">=3.8"
    assert got["foo_bar-1.0.tar.gz"].size is None  # HTML has no size


def test_gzip_encoded_page_is_decoded(upstream: UpstreamIndex) -> None:
    """A page sent with Content-Encoding: gzip is decompressed before parsing."""
    upstream.faults.gzip_pages = True
    project = client(upstream).project("foo-bar")
    assert project is not None
    assert len(project.files) == 2
    assert "gzip" in upstream.requests[0].headers["accept-encoding"]


def test_unknown_project_is_none(upstream: UpstreamIndex) -> None:
    """An upstream 404 means "no such project", not an error."""
    assert client(upstream).project("nothing-here") is None


def test_upstream_500_is_an_error(upstream: UpstreamIndex) -> None:
    """An upstream 5xx is an UpstreamError naming the status and the project."""
    upstream.faults.status = 500
    with pytest.raises(UpstreamError) as caught:
        client(upstream).project("foo-bar")
    assert caught.value.message == "upstream answered 500 for 'foo-bar'"


def test_slow_upstream_times_out(upstream: UpstreamIndex) -> None:
    """An upstream slower than the timeout fails after about the timeout, not later."""
    upstream.faults.delay = 10
    started = time.monotonic()
    with pytest.raises(UpstreamError) as caught:
        client(upstream, timeout=0.5).project("foo-bar")
    assert time.monotonic() - started < 3
    assert caught.value.message == (
        f"upstream request to '{upstream.url}/simple/foo-bar/' failed: ReadTimeoutError"
    )


def test_down_upstream_fails_fast(upstream: UpstreamIndex) -> None:
    """A stopped upstream (connection refused) is an UpstreamError at once."""
    upstream.stop()
    started = time.monotonic()
    with pytest.raises(UpstreamError) as caught:
        client(upstream, timeout=5).project("foo-bar")
    assert time.monotonic() - started < 2
    assert caught.value.message == (
        f"upstream request to '{upstream.url}/simple/foo-bar/' failed: NewConnectionError"
    )


@pytest.mark.parametrize("declared", [False, True])
def test_huge_page_stops_at_the_size_limit(upstream: UpstreamIndex, declared: bool) -> None:
    """A 200 MB page is abandoned at ``max_page_size`` (declared or streamed), quickly."""
    upstream.faults.huge_page = 200 * 10**6
    upstream.faults.huge_page_declared = declared
    started = time.monotonic()
    with pytest.raises(UpstreamError) as caught:
        client(upstream, max_page_size=ONE_MIB).project("foo-bar")
    assert caught.value.message == f"upstream page is larger than {ONE_MIB} bytes"
    assert time.monotonic() - started < 5
    upstream.stop()  # ends the stream; what went out was bounded by the client hanging up
    assert upstream.page_bytes_sent < 64 * ONE_MIB


def test_gzip_bomb_page_is_refused_without_inflating_it(upstream: UpstreamIndex) -> None:
    """A 100 KB gzip body that inflates to 100 MB is refused at ``max_page_size`` while the
    client holds a few chunks at most: urllib3 before 2.6 inflated each 64 KiB read whole
    (CVE-2025-66471), some 64 MB at once, so pyproject.toml requires urllib3 >= 2.6.3."""
    upstream.faults.gzip_page = gzip.compress(b"\0" * 100 * ONE_MIB)
    tracemalloc.start()
    try:
        with pytest.raises(UpstreamError) as caught:
            client(upstream, max_page_size=ONE_MIB).project("foo-bar")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert caught.value.message == f"upstream page is larger than {ONE_MIB} bytes"
    assert peak < 8 * ONE_MIB


def test_download_returns_the_raw_bytes(upstream: UpstreamIndex) -> None:
    """A file is downloaded as the exact bytes, asking for no content coding."""
    hosted = upstream.file(wheel_name())
    out = io.BytesIO()
    assert client(upstream).download(upstream.url + hosted.path, out, 10 * ONE_MIB) == hosted.size
    assert out.getvalue() == hosted.data
    assert upstream.requests[-1].headers["accept-encoding"] == "identity"


def test_gzip_labelled_sdist_is_kept_as_is(upstream: UpstreamIndex) -> None:
    """A .tar.gz sent with Content-Encoding: gzip is stored as the .tar.gz, not decompressed."""
    upstream.faults.gzip_sdists = True
    hosted = upstream.file("foo_bar-1.0.tar.gz")
    out = io.BytesIO()
    client(upstream).download(upstream.url + hosted.path, out, 10 * ONE_MIB)
    assert hashlib.sha256(out.getvalue()).hexdigest() == hosted.sha256


def test_truncated_download_is_an_error(upstream: UpstreamIndex) -> None:
    """A file cut short of its Content-Length (connection closed) is an UpstreamError."""
    upstream.faults.truncate = True
    hosted = upstream.file(wheel_name())
    with pytest.raises(UpstreamError) as caught:
        client(upstream).download(upstream.url + hosted.path, io.BytesIO(), 10 * ONE_MIB)
    assert caught.value.message == "upstream download failed: ProtocolError"


def test_download_larger_than_allowed_is_an_error(upstream: UpstreamIndex) -> None:
    """A file larger than the caller's limit is refused."""
    hosted = upstream.file(wheel_name())
    with pytest.raises(UpstreamError) as caught:
        client(upstream).download(upstream.url + hosted.path, io.BytesIO(), 100)
    assert caught.value.message == "upstream file is larger than 100 bytes"


def test_verify_hashes_rejects_different_bytes(upstream: UpstreamIndex, tmp_path: Path) -> None:
    """Bytes that do not match an advertised hash are refused, naming the hash."""
    upstream.faults.wrong_bytes = True
    hosted = upstream.file(wheel_name())
    path = tmp_path / hosted.filename
    with path.open("wb") as out:
        client(upstream).download(upstream.url + hosted.path, out, 10 * ONE_MIB)
    assert path.stat().st_size == hosted.size
    with pytest.raises(UpstreamError) as caught:
        verify_hashes(str(path), {"sha256": hosted.sha256})
    assert caught.value.message == "upstream file does not match its advertised sha256 hash"
    md5 = hashlib.md5(path.read_bytes()).hexdigest()  # noqa: S324 - an index's legacy hash
    with pytest.raises(UpstreamError) as caught:
        verify_hashes(str(path), {"md5": md5, "sha256": hosted.sha256.upper()})
    assert caught.value.message == "upstream file does not match its advertised sha256 hash"
    path.write_bytes(hosted.data)
    assert verify_hashes(str(path), {"sha256": hosted.sha256.upper()}) == hosted.sha256


def test_redirect_loop_is_bounded(upstream: UpstreamIndex) -> None:
    """A redirect loop stops after ``max_redirects`` hops with a clear error."""
    upstream.faults.redirect_loop = True
    with pytest.raises(UpstreamError) as caught:
        client(upstream).project("foo-bar")
    assert caught.value.message == "upstream redirected more than 5 times"
    assert len(upstream.requests) == 6


@pytest.mark.parametrize("target", ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/simple/"])
def test_redirect_to_an_internal_address_is_refused_unsent(
    upstream: UpstreamIndex, connections: list[tuple[str, int]], target: str
) -> None:
    """A redirect to a link-local or private address is refused before any connection to it."""
    upstream.faults.redirect_to = target
    started = time.monotonic()
    with pytest.raises(UpstreamError) as caught:
        client(upstream).project("foo-bar")
    host = target.split("/")[2]
    assert caught.value.message == f"upstream pointed to an internal address '{host}'; refused"
    assert time.monotonic() - started < 2
    assert {address[0] for address in connections} == {"127.0.0.1"}


def test_redirect_to_another_scheme_is_refused(upstream: UpstreamIndex) -> None:
    """A redirect to a non-HTTP URL is refused."""
    upstream.faults.redirect_to = "file:///etc/passwd"
    with pytest.raises(UpstreamError) as caught:
        client(upstream).project("foo-bar")
    assert caught.value.message == "upstream redirected to an unsupported URL 'file:///etc/passwd'"


@pytest.mark.parametrize(
    "location", ["http://[::1/simple/foo-bar/", "http://127.0.0.1:99999/simple/foo-bar/"]
)
def test_redirect_to_an_unreadable_url_is_refused(upstream: UpstreamIndex, location: str) -> None:
    """A redirect whose Location does not parse as a URL (or names no port) is an UpstreamError,
    never a ValueError."""
    upstream.faults.redirect_to = location
    with pytest.raises(UpstreamError) as caught:
        client(upstream).project("foo-bar")
    assert caught.value.message == f"upstream redirected to an unsupported URL {location!r}"


def test_same_host_redirect_is_followed(upstream: UpstreamIndex) -> None:
    """A redirect to another path on the upstream host (keep-alive connection) is followed."""
    hosted = upstream.file(wheel_name())
    upstream.faults.redirects = {hosted.path: hosted.path + "?moved=1"}
    out = io.BytesIO()
    upstream_client = client(upstream)
    assert upstream_client.project("foo-bar") is not None
    assert upstream_client.download(upstream.url + hosted.path, out, 10 * ONE_MIB) == hosted.size
    assert out.getvalue() == hosted.data


def test_connection_is_reusable_after_a_404_with_a_body(upstream: UpstreamIndex) -> None:
    """An upstream 404 whose body arrives a moment later does not break the next request."""
    upstream.faults.slow_body = 0.2
    upstream_client = client(upstream)
    assert upstream_client.project("nothing-here") is None
    project = upstream_client.project("foo-bar")
    assert project is not None
    assert len(project.files) == 2


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_credentials_go_to_the_upstream_host_only(upstream: UpstreamIndex) -> None:
    """Credentials in the base URL are sent to the upstream host, never to a redirect's host."""
    hosted = upstream.file(wheel_name())
    other = f"http://localhost:{upstream.port}{hosted.path}?elsewhere=1"
    upstream.faults.redirects = {hosted.path: other}
    base = f"http://mirror-user:s3cr3t@127.0.0.1:{upstream.port}"
    authed = client(base)
    assert authed.project("foo-bar") is not None
    assert upstream.requests[0].headers["authorization"] == _basic("mirror-user", "s3cr3t")
    out = io.BytesIO()
    authed.download(upstream.url + hosted.path, out, 10 * ONE_MIB)
    assert out.getvalue() == hosted.data
    first, second = upstream.requests[-2:]
    assert first.headers["authorization"] == _basic("mirror-user", "s3cr3t")
    assert second.path.endswith("?elsewhere=1")
    assert "authorization" not in second.headers


def test_credentials_are_not_sent_to_another_port(upstream: UpstreamIndex) -> None:
    """A redirect to another port of the upstream's host is another origin: no credentials."""
    hosted = upstream.file(wheel_name())
    with UpstreamIndex() as other:
        other.add("Foo_Bar", "1.0", requires_python=">=3.8")
        upstream.faults.redirects = {hosted.path: other.url + hosted.path}
        authed = client(f"http://mirror-user:s3cr3t@127.0.0.1:{upstream.port}")
        out = io.BytesIO()
        authed.download(upstream.url + hosted.path, out, 10 * ONE_MIB)
        assert out.getvalue() == hosted.data
        (received,) = other.requests
        assert "authorization" not in received.headers


def test_errors_never_show_the_password(upstream: UpstreamIndex) -> None:
    """Error messages about a credentialed upstream never contain its password."""
    authed = client(f"http://mirror-user:s3cr3t@127.0.0.1:{upstream.port}", timeout=0.5)
    upstream.faults.status = 503
    with pytest.raises(UpstreamError) as first:
        authed.project("foo-bar")
    upstream.stop()
    with pytest.raises(UpstreamError) as second:
        authed.project("foo-bar")
    for error in (first.value, second.value):
        assert "s3cr3t" not in str(error)
        assert "s3cr3t" not in repr(error)
