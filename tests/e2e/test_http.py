"""HTTP behaviours of a live server process, checked on the wire, through each adapter."""

from __future__ import annotations

import base64
import http.client
import json

import pytest
from distbuild import BuiltDists
from e2e_support import HOST, SIMPLE_JSON, Server

pytestmark = pytest.mark.e2e

_NOT_ACCEPTABLE = (
    b"None of the requested content types is available; this index serves "
    b"application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html, text/html\n"
)


@pytest.mark.parametrize("path", ["/simple/", "/simple/acme-utils/"])
def test_unacceptable_accept_gets_406(published: Server, path: str) -> None:
    """A Simple page asked for only as image/png is 406 Not Acceptable."""
    reply = published.request("GET", path, {"Accept": "image/png"})
    assert reply.status == 406
    assert reply.body == _NOT_ACCEPTABLE


@pytest.mark.parametrize("path", ["/simple/Acme_Utils/", "/simple/acme-utils", "/simple/acme.utils"])
def test_unnormalized_project_urls_redirect(published: Server, path: str) -> None:
    """A project URL that is not the normalized one with a slash is 301 to the normalized one."""
    reply = published.request("GET", path)
    assert reply.status == 301
    assert reply.header("Location") == "/simple/acme-utils/"


def test_simple_page_revalidates_with_etag(published: Server) -> None:
    """If-None-Match with the page's ETag gets 304 and no body; a stale ETag gets the page."""
    first = published.request("GET", "/simple/acme-utils/", {"Accept": SIMPLE_JSON})
    etag = first.header("ETag")
    assert first.status == 200
    assert etag
    again = published.request("GET", "/simple/acme-utils/", {"Accept": SIMPLE_JSON, "If-None-Match": etag})
    assert (again.status, again.body, again.header("ETag")) == (304, b"", etag)
    stale = published.request(
        "GET", "/simple/acme-utils/", {"Accept": SIMPLE_JSON, "If-None-Match": '"stale"'}
    )
    assert (stale.status, stale.body) == (200, first.body)


def test_range_request_on_a_wheel(published: Server, acme: dict[str, BuiltDists]) -> None:
    """Range requests on a wheel get 206 with the right Content-Range and exactly those bytes."""
    wheel = acme["1.0"].wheel
    data = wheel.read_bytes()
    size = len(data)
    path = published.file_path("acme-utils", wheel.name)
    middle = published.request("GET", path, {"Range": "bytes=10-99"})
    assert middle.status == 206
    assert middle.header("Content-Range") == f"bytes 10-99/{size}"
    assert middle.header("Content-Length") == "90"
    assert middle.body == data[10:100]
    tail = published.request("GET", path, {"Range": "bytes=-22"})  # a zip's end-of-central-directory
    assert tail.status == 206
    assert tail.header("Content-Range") == f"bytes {size - 22}-{size - 1}/{size}"
    assert tail.body == data[-22:]


def test_if_range_resumes_the_same_file_only(published: Server, acme: dict[str, BuiltDists]) -> None:
    """Range with If-Range gets 206 for the file's ETag and the whole file for any other."""
    wheel = acme["1.0"].wheel
    data = wheel.read_bytes()
    path = published.file_path("acme-utils", wheel.name)
    etag = published.request("HEAD", path).header("ETag")
    assert etag
    resumed = published.request("GET", path, {"Range": "bytes=100-", "If-Range": etag})
    assert (resumed.status, resumed.body) == (206, data[100:])
    changed = published.request("GET", path, {"Range": "bytes=100-", "If-Range": '"other"'})
    assert (changed.status, changed.header("Content-Range"), changed.body) == (200, None, data)


def test_unsatisfiable_range_gets_416(published: Server, acme: dict[str, BuiltDists]) -> None:
    """A range starting past the end of the file is 416 with Content-Range: bytes */size."""
    wheel = acme["1.0"].wheel
    size = wheel.stat().st_size
    reply = published.request(
        "GET", published.file_path("acme-utils", wheel.name), {"Range": f"bytes={size}-"}
    )
    assert reply.status == 416
    assert reply.header("Content-Range") == f"bytes */{size}"
    assert reply.body == b""


def test_head_sends_headers_only(published: Server, acme: dict[str, BuiltDists]) -> None:
    """HEAD on a file and on a page gives the GET's Content-Length and no body on the connection."""
    wheel = acme["1.0"].wheel
    file_path = published.file_path("acme-utils", wheel.name)
    page = published.request("GET", "/simple/acme-utils/")
    connection = http.client.HTTPConnection(HOST, published.port, timeout=30)
    try:
        for path, length in (
            (file_path, wheel.stat().st_size),
            ("/simple/acme-utils/", len(page.body)),
        ):
            connection.request("HEAD", path)
            head = connection.getresponse()
            assert head.status == 200
            assert head.headers["Content-Length"] == str(length)
            assert head.read() == b""
        # Any body bytes sent after a HEAD response would corrupt this next response.
        connection.request("GET", "/health")
        health = connection.getresponse()
        assert health.status == 200
        state = json.loads(health.read())
        assert (state["status"], state["storage"]) == ("ok", "ok")
    finally:
        connection.close()


def test_sdist_is_served_without_content_encoding(published: Server, acme: dict[str, BuiltDists]) -> None:
    """A .tar.gz is sent as its own bytes with no Content-Encoding, even when gzip is accepted."""
    sdist = acme["1.0"].sdist
    reply = published.request(
        "GET", published.file_path("acme-utils", sdist.name), {"Accept-Encoding": "gzip"}
    )
    assert reply.status == 200
    assert reply.header("Content-Encoding") is None
    assert reply.header("Content-Type") == "application/octet-stream"
    assert reply.body == sdist.read_bytes()


def test_refusals_carry_their_message_in_the_reason_phrase(published: Server) -> None:
    """twine prints only the reason phrase of a 401: WSGI puts the message there; ASGI has no
    custom reason phrase, so uvicorn sends the standard one (the body still says why)."""
    bad = "Basic " + base64.b64encode(b"e2e:wrong-password").decode()
    reply = published.request("GET", "/simple/", {"Authorization": bad})
    assert reply.status == 401
    assert reply.body == b"Invalid or non-existent authentication information.\n"
    expected = (
        "Invalid or non-existent authentication information."
        if published.adapter == "wsgi"
        else "Unauthorized"
    )
    assert reply.reason == expected
