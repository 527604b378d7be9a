"""Downloads through both adapters and both local and memory storage: GET, HEAD, ranges,
validators, PEP 658 metadata, and files bound to their own project."""

from __future__ import annotations

import hashlib

import pytest


@pytest.fixture
def stocked(any_client, wheel, sdist, build):
    """A client whose registry holds demo 1.0 (wheel + sdist) and other 1.0 (wheel)."""
    for dist in (wheel, sdist, build.wheel("other")):
        assert any_client.upload(dist).status == 200
    return any_client


def test_get_file(stocked, wheel):
    """GET of a file URL returns its exact bytes with immutable caching and an ETag."""
    reply = stocked.get(wheel.url_path)
    assert reply.status == 200
    assert reply.body == wheel.data
    assert reply.headers["Content-Type"] == "application/octet-stream"
    assert reply.headers["Content-Length"] == str(len(wheel.data))
    assert reply.headers["Accept-Ranges"] == "bytes"
    assert reply.headers["ETag"] == f'"{wheel.sha256}"'
    assert reply.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "Content-Encoding" not in reply.headers


def test_get_sdist_is_not_reencoded(stocked, sdist):
    """A .tar.gz is served as the stored gzip bytes, never with a Content-Encoding."""
    reply = stocked.get(sdist.url_path, {"Accept-Encoding": "gzip"})
    assert reply.status == 200
    assert reply.body == sdist.data
    assert "Content-Encoding" not in reply.headers


def test_head_file(stocked, wheel):
    """HEAD of a file gives its Content-Length and validators with an empty body."""
    reply = stocked.request("HEAD", wheel.url_path)
    assert reply.status == 200
    assert reply.body == b""
    assert reply.headers["Content-Length"] == str(len(wheel.data))
    assert reply.headers["Accept-Ranges"] == "bytes"
    assert reply.headers["ETag"] == f'"{wheel.sha256}"'


@pytest.mark.parametrize(
    ("spec", "start", "stop"),
    [("bytes=0-9", 0, 10), ("bytes=10-", 10, None), ("bytes=-22", -22, None), ("bytes=5-5", 5, 6)],
)
def test_range_is_206(stocked, wheel, spec, start, stop):
    """A satisfiable Range gets 206 with the slice and a Content-Range."""
    size = len(wheel.data)
    expected = wheel.data[start:stop]
    reply = stocked.get(wheel.url_path, {"Range": spec})
    assert reply.status == 206
    assert reply.body == expected
    first = start % size
    assert reply.headers["Content-Range"] == f"bytes {first}-{first + len(expected) - 1}/{size}"
    assert reply.headers["Content-Length"] == str(len(expected))


def test_range_head_is_206_without_body(stocked, wheel):
    """HEAD with a Range answers the range's headers and no body (uv probes this way)."""
    reply = stocked.request("HEAD", wheel.url_path, {"Range": "bytes=0-9"})
    assert reply.status == 206
    assert reply.body == b""
    assert reply.headers["Content-Length"] == "10"


def test_unsatisfiable_range_is_416(stocked, wheel):
    """A Range starting past the end gets 416 with Content-Range: bytes */size."""
    size = len(wheel.data)
    reply = stocked.get(wheel.url_path, {"Range": f"bytes={size}-"})
    assert reply.status == 416
    assert reply.headers["Content-Range"] == f"bytes */{size}"
    assert reply.body == b""


def test_unparseable_range_is_ignored(stocked, wheel):
    """An unparseable Range is ignored (RFC 9110): the whole file with 200."""
    reply = stocked.get(wheel.url_path, {"Range": "pages=1-2"})
    assert reply.status == 200
    assert reply.body == wheel.data


def test_if_range_mismatch_sends_whole_file(stocked, wheel):
    """A Range with a stale If-Range validator gets the whole file (pip's resume logic)."""
    reply = stocked.get(wheel.url_path, {"Range": "bytes=0-9", "If-Range": '"stale"'})
    assert reply.status == 200
    assert reply.body == wheel.data
    resumed = stocked.get(wheel.url_path, {"Range": "bytes=10-", "If-Range": f'"{wheel.sha256}"'})
    assert resumed.status == 206
    assert resumed.body == wheel.data[10:]


def test_if_none_match_is_304(stocked, wheel):
    """A file's ETag in If-None-Match gets 304 with no body."""
    reply = stocked.get(wheel.url_path, {"If-None-Match": f'"{wheel.sha256}"'})
    assert reply.status == 304
    assert reply.body == b""
    assert reply.headers["ETag"] == f'"{wheel.sha256}"'


def test_metadata_is_byte_identical(stocked, wheel):
    """<file>.metadata is byte-identical to the wheel's METADATA and matches the advertised hash."""
    reply = stocked.get(wheel.url_path + ".metadata")
    assert reply.status == 200
    assert reply.body == wheel.metadata
    advertised = hashlib.sha256(wheel.metadata).hexdigest()
    assert f'data-core-metadata="sha256={advertised}"' in stocked.get("/simple/demo/").body.decode()
    head = stocked.request("HEAD", wheel.url_path + ".metadata")
    assert head.status == 200
    assert head.body == b""
    assert head.headers["Content-Length"] == str(len(wheel.metadata))


def test_metadata_if_none_match_is_304(stocked, wheel):
    """The .metadata file revalidates with its own ETag."""
    etag = stocked.get(wheel.url_path + ".metadata").headers["ETag"]
    assert stocked.get(wheel.url_path + ".metadata", {"If-None-Match": etag}).status == 304


def test_sdist_has_no_metadata_file(stocked, sdist):
    """sdists advertise no PEP 658 metadata, and <sdist>.metadata is 404."""
    reply = stocked.get(sdist.url_path + ".metadata")
    assert reply.status == 404


def test_file_not_reachable_through_other_project(stocked, wheel):
    """A file of demo is 404 under /files/other/..., even with its right sha256."""
    reply = stocked.get(f"/files/other/{wheel.sha256}/{wheel.filename}")
    assert reply.status == 404
    assert reply.body == f"File '{wheel.filename}' not found in project 'other'.\n".encode()
    metadata = stocked.get(f"/files/other/{wheel.sha256}/{wheel.filename}.metadata")
    assert metadata.status == 404


def test_file_with_wrong_sha_is_404(stocked, wheel, sdist):
    """The sha256 segment must be the file's own: another file's hash or garbage is 404."""
    assert stocked.get(f"/files/demo/{sdist.sha256}/{wheel.filename}").status == 404
    assert stocked.get(f"/files/demo/{'0' * 64}/{wheel.filename}").status == 404
    assert stocked.get(f"/files/demo/{wheel.sha256.upper()}/{wheel.filename}").status == 404


def test_file_under_unnormalized_project_is_404(stocked, wheel):
    """File URLs are canonical: /files/Demo/... is not an alias of /files/demo/...."""
    assert stocked.get(f"/files/Demo/{wheel.sha256}/{wheel.filename}").status == 404


def test_unknown_project_file_is_404(stocked, wheel):
    """A file URL of a project that does not exist is 404."""
    assert stocked.get(f"/files/nope/{wheel.sha256}/{wheel.filename}").status == 404


TRAVERSALS = (
    "/files/..%2F..%2Fetc/passwd",
    "/files/..%2F..%2Fetc/{sha}/passwd",
    "/files/demo/{sha}/..%2F..%2F..%2Findex%2Fdemo%2F{file}.json",
    "/files/demo/{sha}/..%2F{file}",
    "/files/demo/..%2F{sha}/{file}",
    "/files/demo/{sha}/%00",
    "/files/demo/{sha}/{file}%00",
    "/files/demo/{sha}/{file}%00.metadata",
    "/files/%00/{sha}/{file}",
    "/files/demo%00/{sha}/{file}",
    "/files/demo/%00{sha}/{file}",
    "/files/demo/{sha}/..",
    "/files/demo/{sha}/.",
    "/files/demo/..",
    "/files/demo/{sha}/%2e%2e%2f%2e%2e%2f{file}",
    "/files/demo/{sha}/{file}%2F",
    "/files/demo/{sha}/{file}/",
    "/files/demo/{sha}/%ff%fe",
    "/files/demo/{sha}/..%5C..%5C{file}",
    "/files/demo/{sha}/%2Fetc%2Fpasswd",
    "/files//{sha}/{file}",
    "/files/demo//{file}",
    "/simple/..%2F..%2Fetc/",
    "/simple/demo%00/",
    "/simple/%2e%2e/",
    "/pypi/..%2F..%2Fetc/json",
    "/pypi/demo%00/json",
    "/pypi/demo/..%2F..%2F1.0/json",
)


def test_traversal_is_404(stocked, wheel):
    """Percent-encoded traversal, NUL bytes and empty segments in URLs are 404, never 500."""
    answers = {}
    for template in TRAVERSALS:
        path = template.format(sha=wheel.sha256, file=wheel.filename)
        reply = stocked.get(path)
        answers[path] = (reply.status, reply.body == b"Not found.\n" or reply.body.startswith(b"File '"))
    assert {path: answer for path, answer in answers.items() if answer != (404, True)} == {}


def test_multiple_ranges_are_not_416(stocked, wheel):
    """Several satisfiable ranges are served (206) or ignored (200 whole file), never refused."""
    reply = stocked.get(wheel.url_path, {"Range": "bytes=0-1,5-6"})
    assert reply.status in (200, 206)
    if reply.status == 200:
        assert reply.body == wheel.data


@pytest.mark.parametrize("headers", [{}, {"Range": "bytes=0-9"}])
def test_a_listed_file_whose_stored_bytes_are_missing_is_404(stocked, wheel, headers, caplog):
    """A file the index lists but whose bytes the store lost answers a whole 404 naming it
    (not 200 headers and a broken body), and the operator is told in the log."""
    stocked.registry.storage.delete_blob(wheel.url_path.lstrip("/"))
    reply = stocked.get(wheel.url_path, headers)
    assert reply.status == 404
    assert reply.body == f"File {wheel.filename!r} not found in project 'demo'.\n".encode()
    assert f"stored bytes missing: {wheel.url_path.lstrip('/')}" in caplog.text
    assert stocked.get(f"/simple/{wheel.project}/").status == 200  # the index itself still answers
