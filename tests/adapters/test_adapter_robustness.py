"""No client input makes the server fail: random requests never get a 5xx."""

from __future__ import annotations

import base64
import string
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import accept_headers, project_names

_HEADER_CHARS = string.printable.replace("\r", "").replace("\n", "").replace("\x0b", "").replace("\x0c", "")
_header_text = st.text(alphabet=_HEADER_CHARS, max_size=40)

_METHODS = st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "get", "FOO"])


def _segments(sha: str, filename: str) -> st.SearchStrategy[str]:
    known = st.sampled_from(
        [
            "simple",
            "files",
            "pypi",
            "json",
            "legacy",
            "health",
            "demo",
            "Demo",
            "other",
            "",
            ".",
            "..",
            "%2e%2e",
            "..%2F..%2F",
            "%00",
            "%ff%fe",
            "%2F",
            "%5C",
            "%",
            "%zz",
            "%25",
            sha,
            sha.upper(),
            filename,
            filename + ".metadata",
            "demo-1.0.tar.gz",
            "1.0",
            "9.9",
            "%E2%80%AE",
            "\u00e9",
            ";",
            "?format=",
            "#frag",
        ]
    )
    text = st.text(max_size=12).map(lambda t: quote(t, safe=""))
    return st.one_of(known, known, project_names(max_size=12), text)


@st.composite
def _targets(draw: st.DrawFn, sha: str, filename: str) -> str:
    segments = draw(st.lists(_segments(sha, filename), max_size=6))
    path = "/" + "/".join(segments)
    if draw(st.booleans()):
        path += "/"
    query = draw(
        st.one_of(
            st.just(""),
            st.sampled_from(
                [
                    "format=application/vnd.pypi.simple.v1+json",
                    "format=text/html",
                    "format=image/png",
                    "format=",
                    ":action=file_upload",
                    "a=%zz&a=1",
                ]
            ),
            st.text(max_size=20).map(lambda t: quote(t, safe="=&")),
        )
    )
    return f"{path}?{query}" if query else path


_RANGES = st.one_of(
    st.sampled_from(
        [
            "bytes=0-1",
            "bytes=-5",
            "bytes=5-",
            "bytes=5-2",
            "bytes=0-0,2-3",
            "bytes=,",
            "bytes=99999999999999999999-",
            "bytes=-0",
            "items=0-1",
            "bytes",
        ]
    ),
    _header_text,
)


@st.composite
def _headers(draw: st.DrawFn) -> dict[str, str]:
    headers: dict[str, str] = {}
    if draw(st.booleans()):
        headers["Accept"] = draw(st.one_of(accept_headers().map(lambda pair: pair[0]), _header_text))
    if draw(st.booleans()):
        headers["Range"] = draw(_RANGES)
    if draw(st.booleans()):
        headers["If-None-Match"] = draw(st.one_of(st.sampled_from(["*", '"x"', 'W/"x"', ""]), _header_text))
    if draw(st.booleans()):
        headers["If-Range"] = draw(_header_text)
    if draw(st.booleans()):
        # Fixed credentials: each unknown user costs one slow password hash (then cached).
        headers["Authorization"] = draw(
            st.one_of(
                st.sampled_from(
                    ["Basic", "Basic !!!", "Bearer abc", "Basic " + base64.b64encode(b"\xff:\xfe").decode()]
                ),
                _header_text,
            )
        )
    if draw(st.booleans()):
        headers["Content-Type"] = draw(
            st.one_of(
                st.sampled_from(
                    [
                        "multipart/form-data",
                        "multipart/form-data; boundary=",
                        "multipart/form-data; boundary=x",
                        'multipart/form-data; boundary="a b"',
                        "application/json",
                        "text/plain; charset=utf-8",
                    ]
                ),
                _header_text,
            )
        )
    return headers


@st.composite
def _bodies(draw: st.DrawFn, upload: bytes) -> bytes:
    kind = draw(st.sampled_from(["empty", "random", "mutated", "truncated"]))
    if kind == "empty":
        return b""
    if kind == "random":
        return draw(st.binary(max_size=300))
    if kind == "truncated":
        return upload[: draw(st.integers(0, len(upload)))]
    data = bytearray(upload)
    for _ in range(draw(st.integers(1, 4))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_requests_never_fail(client, wheel, build, data):
    """Random paths, methods, headers and bodies get a status below 500 and a Content-Type with any body."""
    if data.draw(st.booleans(), label="stocked") and client.get("/simple/demo/").status == 404:
        assert client.upload(wheel).status == 200
    upload, content_type = build.encode_upload(wheel)
    method = data.draw(_METHODS, label="method")
    target = data.draw(_targets(wheel.sha256, wheel.filename), label="target")
    headers = data.draw(_headers(), label="headers")
    body = b""
    if method.upper() == "POST":
        body = data.draw(_bodies(upload), label="body")
        if data.draw(st.booleans(), label="twine content type"):
            headers["Content-Type"] = content_type
    prefix = data.draw(st.sampled_from(["", "/mount"]), label="prefix")
    reply = client.request(method, target, headers, body, prefix=prefix)
    assert reply.status < 500, (reply.status, reply.body[:300])
    if reply.body:
        assert reply.headers.get("Content-Type"), reply
